"""How boundbox's long-running processes run asyncio: on uvloop where it is available.

uvloop (libuv) runs the same asyncio code with less CPU per callback and per socket write;
the relay, which does a few of each per event, spends about a tenth less CPU on it. Where uvloop
is not installed (Windows), asyncio's own loop runs everything unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from pymongo import AsyncMongoClient

try:
    import uvloop
except ImportError:  # pragma: no cover - not on Windows
    uvloop = None  # type: ignore[assignment]


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    return None if uvloop is None else uvloop.new_event_loop


def run[T](main: Coroutine[Any, Any, T]) -> T:
    """Runs `main` to completion on a new event loop, as `asyncio.run` does."""
    return asyncio.run(main, loop_factory=loop_factory())


def mongo_client(
    url: str, *, appname: str, server_selection_timeout_ms: int = 5_000
) -> AsyncMongoClient[Any]:
    """A process's MongoDB client: standard UUIDs (event ids), tz-aware datetimes, and an
    unreachable server noticed within seconds (logs, /readyz) instead of pymongo's 30."""
    return AsyncMongoClient(
        url,
        uuidRepresentation="standard",
        tz_aware=True,
        appname=appname,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
    )
