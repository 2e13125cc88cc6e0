"""Minting HS256 tokens from a shared secret: `boundbox token`, the dev banner and tests."""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

ALGORITHM_HS256 = "HS256"
DEFAULT_TTL_SECONDS = 3600
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash


def mint_token(
    secret: str,
    *,
    sub: str,
    scopes: Iterable[str],
    issuer: str,
    audience: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A token for `sub` with `scopes` (space-separated in `scope`), valid for `ttl_seconds`."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": sub,
        "scope": " ".join(scopes),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM_HS256)
