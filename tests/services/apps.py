"""Run the API in-process for a test: its lifespan, and an HTTP client speaking ASGI to it.

The client sends an admin token (every scope, `sub` "admin") unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from boundbox.settings import Settings
from services.api import create_app
from tests.support.auth import AUTH_ENV, admin_headers

AUTH = {name.lower(): value for name, value in AUTH_ENV.items()}


def api_settings(mongodb_url: str, db_name: str, **overrides: Any) -> Settings:
    """Settings verifying tests' tokens (tests.support.auth), whatever the environment says."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        mongodb_url=mongodb_url,
        mongodb_db=db_name,
        **{"cors_origins": "", **AUTH, **overrides},
    )


@asynccontextmanager
async def running_api(
    settings: Settings, *, headers: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (lifespan entered) and a client for it; both closed on exit.

    The client sends `headers`, by default an admin token's Authorization.
    Unhandled exceptions are raised into the test (ASGITransport's default): a test never
    passes while the catch-all 500 handler fires.
    """
    app = create_app(settings, **options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api.test",
            headers=admin_headers() if headers is None else headers,
        ) as client,
    ):
        yield client
