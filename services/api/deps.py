"""The dependencies routes declare, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header, Request

from services.api.database import Database
from services.api.etags import parse_if_match
from services.api.idempotency import KEY_MAX_LENGTH, Idempotency
from services.api.metrics import Metrics


def _database(request: Request) -> Database:
    return cast("Database", request.app.state.database)


def require_database(request: Request) -> None:
    """Answers 503 before any MongoDB work while the API is not connected yet."""
    _database(request).ensure_ready()


def _metrics(request: Request) -> Metrics:
    return cast("Metrics", request.app.state.metrics)


def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            description='Apply only to this version, e.g. `"3"` (the ETag of a GET); else 412.',
        ),
    ] = None,
) -> frozenset[int] | None:
    return parse_if_match(if_match)


def _idempotency(
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
    )


DatabaseDep = Annotated[Database, Depends(_database)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
IfMatch = Annotated[frozenset[int] | None, Depends(_if_match)]
IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
RequireDatabase = Depends(require_database)
