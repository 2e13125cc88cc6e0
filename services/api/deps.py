"""The dependencies routes declare, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request, Security
from starlette.exceptions import HTTPException

from services.api.database import Database
from services.api.etags import parse_if_match
from services.api.idempotency import KEY_MAX_LENGTH, Idempotency
from services.api.metrics import Metrics
from services.security import UNCHECKED, Principal, current_principal
from services.security.scopes import (
    CATALOG_WRITE,
    EVENTS_READ,
    METRICS_READ,
    ORDERS_READ,
    ORDERS_WRITE,
)

UNSUPPORTED_MEDIA_TYPE = "a command takes a JSON body: send Content-Type: application/json"


# Every dependency is `async def`, though none awaits: FastAPI runs a plain `def` dependency in
# its thread pool, a thread hop per dependency and request.


def _database_of(request: Request) -> Database:
    return cast("Database", request.app.state.database)


async def _database(request: Request) -> Database:
    return _database_of(request)


async def require_database(request: Request) -> None:
    """Answers 503 before any MongoDB work while the API is not connected yet."""
    _database_of(request).ensure_ready()


async def _metrics(request: Request) -> Metrics:
    return cast("Metrics", request.app.state.metrics)


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            description='Apply only to this version, e.g. `"3"` (the ETag of a GET); else 412.',
        ),
    ] = None,
) -> frozenset[int] | None:
    return parse_if_match(if_match)


async def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=KEY_MAX_LENGTH,
            description="Retry safely: the same key and body return the first reply again.",
            examples=["4f9d0a3e-8a8b-4c1f-9c55-1f1f6f0c2d7e"],
        ),
    ] = None,
) -> Idempotency:
    return Idempotency(
        key=idempotency_key,
        method=request.method,
        path=request.url.path,
        caller=lambda: _caller(request),
    )


def _caller(request: Request) -> str:
    """The authenticated caller's name (`current_principal` records it), else anonymous."""
    principal = getattr(request.state, "principal", None)
    return principal.sub if isinstance(principal, Principal) else UNCHECKED.sub


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/…+json`, with any parameters, in any case."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


async def require_json(request: Request) -> None:
    """Commands refuse any other Content-Type, a missing one included, even without a body.

    A browser sends a cross-site form (urlencoded, multipart, text/plain) without asking
    first; none of those can start a command.
    """
    if not is_json(request.headers.get("content-type")):
        raise HTTPException(
            415, UNSUPPORTED_MEDIA_TYPE, headers={"Accept-Post": "application/json"}
        )


def scoped(*scopes: str) -> Any:
    """A route dependency: a valid token holding `scopes` (none: any valid token)."""
    return Security(current_principal, scopes=list(scopes))


DatabaseDep = Annotated[Database, Depends(_database)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
IfMatch = Annotated[frozenset[int] | None, Depends(_if_match)]
IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
RequireDatabase = Depends(require_database)
RequireJson = Depends(require_json)

Authenticated = scoped()
"""Any valid token, whatever its scopes: catalog reads."""
CatalogWriter = scoped(CATALOG_WRITE)
EventsReader = scoped(EVENTS_READ)
MetricsReader = scoped(METRICS_READ)
OrderWriter = Annotated[Principal, scoped(ORDERS_WRITE)]
OrderReader = Annotated[Principal, scoped(ORDERS_READ)]
