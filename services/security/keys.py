"""Where the keys verifying tokens come from: a shared secret, a PEM public key, or a JWKS.

Each source accepts only its own kind of algorithm, so a token can never choose how it is
checked: an HS256 token signed with a public key (algorithm confusion) or `alg: none` is
refused before any signature is computed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.security.errors import InvalidTokenError, KeysUnavailableError

HS256 = ("HS256",)
ASYMMETRIC = frozenset({"RS256", "ES256"})
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_LIFESPAN_SECONDS = 300.0
JWKS_REFRESH_COOLDOWN_SECONDS = 10.0
"""An unknown `kid` refetches the set at most this often: random kids cannot flood the IdP."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A key and the only algorithms a token verified with it may use."""

    key: Any
    algorithms: tuple[str, ...]


class KeySource(Protocol):
    """Finds the key that verifies a token, given the token's (unverified) header."""

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey: ...


class SecretKey:
    """HS256 with one shared secret (development, tests, `boundbox token`)."""

    def __init__(self, secret: str) -> None:
        self._key = VerificationKey(secret, HS256)

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        return self._key


class PublicKey:
    """RS256 (an RSA key) or ES256 (an EC P-256 key) with one PEM public key."""

    def __init__(self, pem: str) -> None:
        key = serialization.load_pem_public_key(pem.encode())
        if isinstance(key, rsa.RSAPublicKey):
            self._key = VerificationKey(key, ("RS256",))
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            self._key = VerificationKey(key, ("ES256",))
        else:
            raise ValueError("not an RSA or EC P-256 public key")

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        return self._key


class JwksKeys:
    """The RS256/ES256 keys of a JWKS URL, by `kid`: cached, refetched on an unknown `kid`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = JWKS_TIMEOUT_SECONDS,
        lifespan: float = JWKS_LIFESPAN_SECONDS,
        refresh_cooldown: float = JWKS_REFRESH_COOLDOWN_SECONDS,
    ) -> None:
        self._client = jwt.PyJWKClient(
            url, timeout=timeout, lifespan=lifespan, cooldown_duration=refresh_cooldown
        )

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("the token names no key (`kid`)")
        try:
            # urllib underneath: the fetch (rare, cached) must not block the event loop.
            jwk = await asyncio.to_thread(self._client.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError as e:
            raise KeysUnavailableError(f"cannot fetch the signing keys: {e}") from None
        except jwt.PyJWKClientError:
            raise InvalidTokenError("no signing key matches the token's `kid`") from None
        algorithms = tuple(sorted({jwk.algorithm_name} & ASYMMETRIC))
        return VerificationKey(jwk.key, algorithms)
