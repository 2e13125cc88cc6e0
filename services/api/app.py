"""The composition root of the API process: settings in, a wired FastAPI app out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.trace import TracerProvider
from starlette.middleware.cors import CORSMiddleware

import outbox
from boundbox import __version__, apidocs, telemetry
from boundbox.settings import Settings
from outbox import RetryPolicy
from services.api import asyncapi, openapi
from services.api.database import connect
from services.api.errors import add_error_handlers
from services.api.metrics import Metrics, MetricsMiddleware
from services.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from services.api.routers import categories, health, orders, products
from services.security import authenticator_from

log = logging.getLogger("boundbox.api")

DESCRIPTION = """\
Commands on a small shop. Every command changes state and records its event in one
MongoDB transaction; the relay publishes the events to RabbitMQ afterwards.

- Send an `Idempotency-Key` with any POST to retry it safely.
- Send `If-Match` with an ETag to change only the version you read (else 412).
- `X-Request-ID` (generated when absent) and `traceparent` travel with every event.

**Authentication**: every operation but `/healthz` and `/readyz` needs
`Authorization: Bearer <JWT>` (click *Authorize*, paste a token under `BearerToken`). Each
operation lists the scopes it needs; reading categories and products needs a valid token of
any scope. A customer's token (`sub` = the customer) reaches only that customer's orders;
`orders:admin` reaches every order. Commands take `Content-Type: application/json` only, a
body-less cancel included (else 415). These docs (`/docs`, `/redoc`, `/openapi.json`) are
open, and so is `/asyncapi.json`: the AsyncAPI 3.0 contract of the events.
"""

# Cross-origin callers may send and read these; the token travels in a header, not a cookie.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Request-ID",
    "traceparent",
]
CORS_RESPONSE_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-ID",
    "Idempotent-Replayed",
]


def create_app(
    settings: Settings,
    *,
    server_selection_timeout_ms: int = 5_000,
    max_body_bytes: int = 64 * 1024,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The API, connecting to `settings.mongodb_url` / `mongodb_db` during its lifespan.

    Traces go where the OTEL_* variables say (boundbox.telemetry), or to `tracer_provider`.
    Raises ConfigurationError at once when AUTH_MODE=jwt has no usable key, or when tracing
    is asked for without the SDK: fail before serving.
    """
    authenticator = authenticator_from(settings)
    telemetry.configure("boundbox-api")  # before the lifespan builds the MongoDB client

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not authenticator.enabled:
            log.warning("authentication is OFF (AUTH_MODE=none): every caller has every scope")
        # A client waits for the whole retry budget at worst, so the budget bounds latency.
        before = outbox.default_policy()
        outbox.set_default_policy(RetryPolicy(budget_seconds=settings.transaction_budget_seconds))
        try:
            async with connect(
                settings, server_selection_timeout_ms=server_selection_timeout_ms
            ) as database:
                app.state.database = database
                yield
        finally:  # an app started and stopped in a process of others leaves theirs as it was
            outbox.set_default_policy(before)

    app = FastAPI(
        title="boundbox shop API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by apidocs.install, from installed files: docs work offline
        redoc_url=None,
    )
    apidocs.install(app)
    openapi.install(app)
    asyncapi.install(app, settings)
    app.state.metrics = metrics = Metrics()
    app.state.authenticator = authenticator
    add_error_handlers(app)
    # Added innermost first: metrics see every answer, 413s included, and carry request ids.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    if origins := cors_origins(settings.cors_origins):
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for router in (health.router, categories.router, products.router, orders.router):
        app.include_router(router)
    telemetry.instrument_app(app, tracer_provider)  # outermost: its span spans every answer
    return app


def cors_origins(value: str) -> list[str]:
    """The origins of CORS_ORIGINS (comma-separated); none: no CORS headers at all."""
    return [origin.strip() for origin in value.split(",") if origin.strip()]
