"""FastAPI `Security` dependencies: the caller's Principal, refused with 401 or 403.

Two schemes document one header, `Authorization: Bearer <JWT>`: `OAuth2` lists the scopes each
operation needs, `BearerToken` is where Swagger UI takes a pasted token. Either satisfies an
operation (OpenAPI security requirements are alternatives).

Refusals are HTTPExceptions, so any app's HTTPException handler answers them as problem
documents; `AuthProblem` also carries the problem `code` and the missing scopes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2, SecurityScopes
from starlette.exceptions import HTTPException

from services.security.authenticator import Authenticator
from services.security.errors import (
    InsufficientScopeError,
    InvalidTokenError,
    KeysUnavailableError,
    MissingTokenError,
)
from services.security.principal import Principal
from services.security.scopes import SCOPES

RETRY_AFTER_SECONDS = 5

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            # Tokens come from the identity provider of AUTH_ISSUER (or `boundbox token` in
            # development); this API has no token endpoint.
            tokenUrl="https://identity-provider.invalid/oauth/token",
            scopes=SCOPES,
        )
    ),
    scheme_name="OAuth2",
    description=(
        "The scopes each operation needs. Tokens are JWTs from your identity provider "
        "(`boundbox token` mints one in development); to try the API here, paste one under "
        "`BearerToken`."
    ),
    auto_error=False,
)
bearer_scheme = HTTPBearer(
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="Paste an access token (a JWT) here: it is sent as `Authorization: Bearer …`.",
    auto_error=False,
)


class AuthProblem(HTTPException):
    """A refusal: 401 (no or bad token), 403 (missing scopes) or 503 (keys unreachable)."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        code: str,
        headers: dict[str, str],
        missing_scopes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(status_code, detail, headers=headers)
        self.code = code
        self.missing_scopes = missing_scopes


def forbidden(missing: tuple[str, ...], detail: str | None = None) -> AuthProblem:
    """The 403 of a caller lacking `missing`, e.g. orders:admin for another's order."""
    error = InsufficientScopeError(missing, detail)
    return AuthProblem(
        403,
        str(error),
        code="forbidden",
        headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'
        },
        missing_scopes=missing,
    )


async def bearer_token(
    _scopes_documented: Annotated[str | None, Depends(oauth2_scheme)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str | None:
    """The bearer token of the Authorization header, if any."""
    return credentials.credentials if credentials is not None else None


async def authorize(
    authenticator: Authenticator, token: str | None, required: Sequence[str]
) -> Principal:
    """The caller, or the AuthProblem refusing them; the token is never logged or echoed."""
    try:
        return await authenticator.authenticate(token, required)
    except MissingTokenError as e:
        raise AuthProblem(401, str(e), code="unauthorized", headers=_challenge()) from None
    except InvalidTokenError as e:
        headers = _challenge('error="invalid_token"')
        raise AuthProblem(401, str(e), code="unauthorized", headers=headers) from None
    except InsufficientScopeError as e:
        raise forbidden(e.missing) from None
    except KeysUnavailableError:
        raise AuthProblem(
            503,
            "the token signing keys cannot be fetched; try again later",
            code="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


def _challenge(error: str = "") -> dict[str, str]:
    return {"WWW-Authenticate": f"Bearer {error}".strip()}


async def current_principal(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(bearer_token)],
) -> Principal:
    """The caller holding the scopes of `Security(current_principal, scopes=[...])`.

    Reads the Authenticator the composition root put in `app.state.authenticator`.
    """
    authenticator = cast("Authenticator", request.app.state.authenticator)
    principal = await authorize(authenticator, token, security_scopes.scopes)
    request.state.principal = principal  # whose request it is, e.g. for Idempotency-Keys
    return principal


def principal_of(authenticator: Authenticator) -> Callable[..., Awaitable[Principal]]:
    """`current_principal` bound to `authenticator`, for apps that keep it elsewhere."""

    async def principal(
        security_scopes: SecurityScopes, token: Annotated[str | None, Depends(bearer_token)]
    ) -> Principal:
        return await authorize(authenticator, token, security_scopes.scopes)

    return principal
