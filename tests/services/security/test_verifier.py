"""TokenVerifier: every check of a token, with each kind of configured key."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from services.security.errors import InvalidTokenError
from services.security.keys import PublicKey, SecretKey, VerificationKey
from services.security.principal import Principal
from services.security.verifier import (
    CACHE_SECONDS,
    LEEWAY_SECONDS,
    TokenVerifier,
    scopes_of,
)
from tests.services.security.jwts import (
    claims,
    ec_key,
    handmade,
    hs256,
    public_pem,
    rsa_key,
    signed,
)
from tests.support.auth import AUDIENCE, ISSUER, TEST_SECRET


def verifier(keys: SecretKey | PublicKey) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


HS = verifier(SecretKey(TEST_SECRET))


async def refused(token: str, by: TokenVerifier = HS) -> str:
    with pytest.raises(InvalidTokenError) as raised:
        await by.verify(token)
    assert token not in str(raised.value)
    return str(raised.value)


async def test_a_valid_token_gives_its_subject_and_scopes() -> None:
    token = hs256(claims(scope="orders:read orders:write"))

    assert await HS.verify(token) == Principal("ada", frozenset({"orders:read", "orders:write"}))


async def test_a_token_signed_with_another_secret_is_refused() -> None:
    assert "Signature" in await refused(hs256(claims(), "another-secret-of-at-least-32-bytes!"))


async def test_an_expired_token_is_refused() -> None:
    now = int(time.time())
    assert "expired" in await refused(hs256(claims(iat=now - 300, nbf=now - 300, exp=now - 60)))


async def test_expiry_and_nbf_have_30_seconds_of_leeway() -> None:
    now = int(time.time())

    await HS.verify(hs256(claims(exp=now - 20)))
    await HS.verify(hs256(claims(nbf=now + 20)))


async def test_a_token_not_valid_yet_is_refused() -> None:
    assert "not valid yet" in await refused(hs256(claims(nbf=int(time.time()) + 120)))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"iss": "someone-else"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"iss": None}, "iss"),
        ({"aud": None}, "aud"),
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
        ({"sub": "  "}, "sub"),
    ],
)
async def test_issuer_audience_subject_and_expiry_are_checked_and_required(
    overrides: dict[str, object], why: str
) -> None:
    assert why in (await refused(hs256(claims(**overrides)))).lower()


async def test_alg_none_is_refused() -> None:
    token = handmade({"alg": "none", "typ": "JWT"}, claims(), hmac_key=None)

    assert "algorithm" in await refused(token)


async def test_an_hs256_token_keyed_with_the_public_key_is_refused() -> None:
    """Algorithm confusion: the public key is public, so it must never serve as an HMAC key."""
    pem = public_pem(rsa_key())
    forged = handmade({"alg": "HS256", "typ": "JWT"}, claims(), hmac_key=pem.encode())

    assert "expected RS256" in await refused(forged, verifier(PublicKey(pem)))


@pytest.mark.parametrize(("key", "algorithm"), [(rsa_key, "RS256"), (ec_key, "ES256")])
async def test_rs256_and_es256_verify_with_a_pem_public_key(key: object, algorithm: str) -> None:
    private = key()  # type: ignore[operator]
    by = verifier(PublicKey(public_pem(private)))

    principal = await by.verify(signed(claims(scope="sales:read"), private, algorithm))

    assert principal == Principal("ada", frozenset({"sales:read"}))


async def test_a_token_of_another_key_pair_is_refused() -> None:
    by = verifier(PublicKey(public_pem(rsa_key())))

    await refused(signed(claims(), ec_key(), "ES256"), by)


async def test_a_malformed_token_is_refused() -> None:
    assert "well-formed" in await refused("not.a.jwt")


def test_scopes_come_from_scope_and_scp() -> None:
    assert scopes_of({"scope": "a b  c"}) == {"a", "b", "c"}
    assert scopes_of({"scp": ["a", "b"]}) == {"a", "b"}
    assert scopes_of({"scp": "a b"}) == {"a", "b"}
    assert scopes_of({}) == frozenset()


@pytest.mark.parametrize("value", [1, ["a", 2], {"a": 1}])
async def test_a_scope_claim_of_another_type_is_refused(value: object) -> None:
    assert "scope" in await refused(hs256(claims(scope=value)))


class CountingKeys(SecretKey):
    """The test secret, counting how often a token's key is looked up (once per verification)."""

    def __init__(self) -> None:
        super().__init__(TEST_SECRET)
        self.lookups = 0

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        self.lookups += 1
        return await super().key_for(header)


async def test_a_verified_token_is_remembered_for_a_minute_at_most() -> None:
    now = time.time()
    keys = CountingKeys()
    cached = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, clock=lambda: now)
    token = hs256(claims(scope="orders:read"))

    first = await cached.verify(token)
    assert await cached.verify(token) == first
    assert keys.lookups == 1
    now += CACHE_SECONDS
    assert await cached.verify(token) == first
    assert keys.lookups == 2  # checked again after a minute


async def test_a_token_is_not_remembered_past_its_expiry() -> None:
    now = time.time()
    keys = CountingKeys()
    cached = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, clock=lambda: now)
    token = hs256(claims(exp=int(now) + 5))
    await cached.verify(token)
    now = int(now) + 5 + LEEWAY_SECONDS  # at exp and its leeway, within the minute
    await cached.verify(token)  # still valid by the wall clock PyJWT reads
    assert keys.lookups == 2  # but checked again, not taken from memory


async def test_a_refused_token_is_not_remembered() -> None:
    keys = CountingKeys()
    cached = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    token = hs256(claims(), "another-secret-of-at-least-32-bytes!")
    for _ in range(2):
        await refused(token, cached)
    assert keys.lookups == 2
