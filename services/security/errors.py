"""Why a caller is refused; the HTTP layer (services.security.dependencies) picks the status."""

from __future__ import annotations

from boundbox.errors import BoundboxError


class AuthError(BoundboxError):
    """The root of every authentication and authorization refusal."""


class MissingTokenError(AuthError):
    """The request carries no bearer token."""


class InvalidTokenError(AuthError):
    """The token is malformed, badly signed, expired, not yet valid, or not for us.

    The message says why, and never contains the token.
    """


class InsufficientScopeError(AuthError):
    """The token is valid but lacks scopes the operation needs."""

    def __init__(self, missing: tuple[str, ...], detail: str | None = None) -> None:
        self.missing = missing
        super().__init__(detail or f"this needs the scope {' '.join(missing)}")


class KeysUnavailableError(AuthError):
    """The signing keys cannot be fetched (the JWKS endpoint is unreachable)."""
