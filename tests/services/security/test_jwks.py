"""JwksKeys against a real local HTTP server: cached, refetched on an unknown kid."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from services.security.errors import InvalidTokenError, KeysUnavailableError
from services.security.keys import JwksKeys
from services.security.verifier import TokenVerifier
from tests.services.security.jwks_server import JwksServer, jwk
from tests.services.security.jwts import claims, ec_key, handmade, hs256, rsa_key, signed
from tests.support.auth import AUDIENCE, ISSUER


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with JwksServer().running() as server:
        server.keys = [jwk(rsa_key(), "rsa-1")]
        yield server


def verifier(url: str) -> TokenVerifier:
    keys = JwksKeys(url, refresh_cooldown=0)
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


async def test_tokens_verify_with_the_key_their_kid_names_fetched_once(jwks: JwksServer) -> None:
    by = verifier(jwks.url)

    for _ in range(3):
        principal = await by.verify(signed(claims(), rsa_key(), "RS256", kid="rsa-1"))

    assert principal.sub == "ada"
    assert jwks.fetches == 1


async def test_an_unknown_kid_refetches_the_set_and_finds_a_rotated_key(jwks: JwksServer) -> None:
    by = verifier(jwks.url)
    await by.verify(signed(claims(), rsa_key(), "RS256", kid="rsa-1"))

    jwks.keys = [*jwks.keys, jwk(ec_key(), "ec-2")]
    principal = await by.verify(signed(claims(sub="bob"), ec_key(), "ES256", kid="ec-2"))

    assert principal.sub == "bob"
    assert jwks.fetches == 2


async def test_a_kid_in_no_set_is_refused(jwks: JwksServer) -> None:
    with pytest.raises(InvalidTokenError, match="no signing key"):
        await verifier(jwks.url).verify(signed(claims(), rsa_key(), "RS256", kid="nope"))


async def test_a_token_without_kid_is_refused(jwks: JwksServer) -> None:
    with pytest.raises(InvalidTokenError, match="kid"):
        await verifier(jwks.url).verify(signed(claims(), rsa_key(), "RS256"))


async def test_hs256_and_none_are_refused_whatever_key_they_name(jwks: JwksServer) -> None:
    by = verifier(jwks.url)
    forged = handmade({"alg": "none", "kid": "rsa-1"}, claims(), hmac_key=None)

    with pytest.raises(InvalidTokenError, match="algorithm"):
        await by.verify(forged)
    with pytest.raises(InvalidTokenError):
        await by.verify(hs256(claims()))  # no kid


async def test_a_symmetric_key_in_the_set_is_never_used(jwks: JwksServer) -> None:
    jwks.keys = [{"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ"}]
    token = handmade(
        {"alg": "HS256", "kid": "oct-1"}, claims(), hmac_key=b"secret-secret-secret-secret!"
    )

    with pytest.raises(InvalidTokenError, match="algorithm"):
        await verifier(jwks.url).verify(token)


async def test_an_unreachable_jwks_is_keys_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(KeysUnavailableError):
        await verifier(f"http://127.0.0.1:{port}/jwks.json").verify(
            signed(claims(), rsa_key(), "RS256", kid="rsa-1")
        )
