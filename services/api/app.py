"""The composition root of the API process: settings in, a wired FastAPI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import outbox
from boundbox import __version__
from boundbox.settings import Settings
from outbox import RetryPolicy
from services.api.database import connect
from services.api.errors import add_error_handlers
from services.api.metrics import Metrics, MetricsMiddleware
from services.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from services.api.routers import categories, health, orders, products

DESCRIPTION = """\
Commands on a small shop. Every command changes state and records its event in one
MongoDB transaction; the relay publishes the events to RabbitMQ afterwards.

- Send an `Idempotency-Key` with any POST to retry it safely.
- Send `If-Match` with an ETag to change only the version you read (else 412).
- `X-Request-ID` (generated when absent) and `traceparent` travel with every event.
"""


def create_app(
    settings: Settings,
    *,
    server_selection_timeout_ms: int = 5_000,
    max_body_bytes: int = 64 * 1024,
) -> FastAPI:
    """The API, connecting to `settings.mongodb_url` / `mongodb_db` during its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A client waits for the whole retry budget at worst, so the budget bounds latency.
        outbox.set_default_policy(RetryPolicy(budget_seconds=settings.transaction_budget_seconds))
        async with connect(
            settings, server_selection_timeout_ms=server_selection_timeout_ms
        ) as database:
            app.state.database = database
            yield

    app = FastAPI(
        title="boundbox shop API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = metrics = Metrics()
    add_error_handlers(app)
    # Added innermost first: metrics see every answer, 413s included, and carry request ids.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for router in (health.router, categories.router, products.router, orders.router):
        app.include_router(router)
    return app
