"""Waits that end early when the process is asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable


async def pause(seconds: float, stopping: asyncio.Event) -> bool:
    """Sleeps `seconds`; False (at once) when `stopping` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    return not stopping.is_set()


async def until_stopped(awaitable: Awaitable[object], stopping: asyncio.Event) -> bool:
    """True once `awaitable` is done (raising its error); False, cancelling it, on `stopping`."""
    task = asyncio.ensure_future(awaitable)
    waiting = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    if task.cancelled():
        return False
    task.result()
    return True


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT (call inside the running loop)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping
