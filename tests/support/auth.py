"""Authentication for the processes tests start: one test secret, and tokens signed with it.

Every `boundbox api` / `boundbox consume` a test starts gets `AUTH_ENV` (the default mode, jwt,
with this secret and nothing else to verify with), and its clients send `admin_headers()`.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.security.scopes import ADMIN_SCOPES
from services.security.tokens import mint_token

TEST_SECRET = "boundbox-tests-only-secret-0123456789abcdef"  # HS256 wants 32 bytes at least
ISSUER = AUDIENCE = "boundbox"
TOKEN_TTL = 6 * 3600  # longer than any test run

AUTH_ENV = {
    "AUTH_MODE": "jwt",
    "AUTH_SECRET": TEST_SECRET,
    "AUTH_ISSUER": ISSUER,
    "AUTH_AUDIENCE": AUDIENCE,
    "AUTH_PUBLIC_KEY": "",
    "AUTH_JWKS_URL": "",
}
"""The environment that makes a process verify tokens signed with TEST_SECRET only."""

JSON = {"Content-Type": "application/json"}
"""What a POST without a body (a cancel) must still declare."""


def token(sub: str = "admin", scopes: Iterable[str] = ADMIN_SCOPES) -> str:
    return mint_token(
        TEST_SECRET, sub=sub, scopes=scopes, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=TOKEN_TTL
    )


def admin_headers() -> dict[str, str]:
    """`Authorization: Bearer` with a token of every scope."""
    return {"Authorization": f"Bearer {token()}"}
