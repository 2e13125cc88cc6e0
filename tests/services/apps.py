"""Run the API in-process for a test: its lifespan, and an HTTP client speaking ASGI to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from boundbox.settings import Settings
from services.api import create_app


def api_settings(mongodb_url: str, db_name: str, **overrides: Any) -> Settings:
    return Settings(_env_file=None, mongodb_url=mongodb_url, mongodb_db=db_name, **overrides)  # type: ignore[call-arg]


@asynccontextmanager
async def running_api(settings: Settings, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (lifespan entered) and a client for it; both closed on exit.

    Unhandled exceptions are raised into the test (ASGITransport's default): a test never
    passes while the catch-all 500 handler fires.
    """
    app = create_app(settings, **options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        ) as client,
    ):
        yield client
