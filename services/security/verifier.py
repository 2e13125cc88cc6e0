"""Verifies a bearer token: signature, algorithm, expiry, issuer, audience, subject, scopes.

A client sends the same token with every request for its lifetime, so a token once verified is
remembered (its Principal) for up to CACHE_SECONDS, never past its own expiry: the signature is
checked once a minute instead of once a request. A key withdrawn from a JWKS therefore stops
tokens it signed within a minute, not at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from services.security.errors import InvalidTokenError
from services.security.keys import KeySource
from services.security.principal import Principal

LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["sub", "exp", "iss", "aud"]
CACHE_SECONDS = 60.0
CACHE_SIZE = 512  # tokens remembered at most; the oldest is forgotten first


class TokenVerifier:
    """Turns a token into its Principal, or raises InvalidTokenError saying why."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway: float = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        self._verified: dict[str, tuple[Principal, float]] = {}  # token: principal, good until

    async def verify(self, token: str) -> Principal:
        now = self._clock()
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, until = remembered
            if now < until:
                return principal
            del self._verified[token]
        principal, expires = await self._verify(token)
        if len(self._verified) >= CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = principal, min(now + CACHE_SECONDS, expires + self._leeway)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The token's Principal and expiry (`exp`), checked from scratch."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidTokenError("the token is not a well-formed JWT") from None
        key = await self._keys.key_for(header)
        if header.get("alg") not in key.algorithms:
            accepted = " or ".join(key.algorithms) or "none of this key"
            raise InvalidTokenError(f"the token's algorithm is not accepted (expected {accepted})")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(key.algorithms),
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("the token is not valid yet") from None
        except jwt.InvalidTokenError as e:
            # PyJWT's messages name the failed check ("Invalid audience"), never the token.
            raise InvalidTokenError(f"the token is invalid: {e}") from None
        return Principal(sub=_subject(claims), scopes=scopes_of(claims)), float(claims["exp"])


def _subject(claims: Mapping[str, Any]) -> str:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidTokenError("the token's `sub` must be a non-empty string")
    return sub


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes of `scope` (space-separated, RFC 8693) and of `scp` (a list, or a string)."""
    scopes: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            scopes.update(value.split())
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            scopes.update(value)
        else:
            raise InvalidTokenError(f"the token's `{name}` must be a string or a list of strings")
    return frozenset(scopes)
