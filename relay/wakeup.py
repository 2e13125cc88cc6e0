"""When the relay looks for new events: at once on a change-stream insert, else by polling.

Polling is always correct and always on. A change stream on the outbox (replica sets and
sharded clusters only) just wakes the loop early, which lets the safety-net poll slow down.
A server without change streams (a standalone, the dev database) is polled every
`poll_interval`, which keeps the idle commit-to-publish latency low.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from relay.health import Backoff, wait_for_event
from relay.mongo import first_line, has_change_streams

log = logging.getLogger("boundbox.relay.wakeup")
# Only whether something was inserted matters, not what: the events stay on the server.
INSERTS: list[dict[str, Any]] = [
    {"$match": {"operationType": "insert"}},
    {"$project": {"operationType": 1}},
]
MIN_EMPTY_WAIT = 0.05  # a server whose getMore does not wait must not make the watcher spin


class Waker:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        poll_interval: float,
        stream_poll_interval: float,
    ) -> None:
        self._collection = collection
        self._poll_interval = poll_interval
        self._stream_poll_interval = stream_poll_interval
        self._event = asyncio.Event()
        self.streaming = False

    @property
    def interval(self) -> float:
        return self._stream_poll_interval if self.streaming else self._poll_interval

    def wake(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        """Returns on the next wake-up, or after the current poll interval."""
        await wait_for_event(self._event, self.interval)
        self._event.clear()

    async def watch(self, stop: asyncio.Event) -> None:
        """Follows outbox inserts while the server offers change streams; else returns."""
        backoff = Backoff(first=0.5, ceiling=10.0)
        while not stop.is_set():
            try:
                if not await has_change_streams(self._collection.database):
                    log.info("polling every %gs (no change streams here)", self._poll_interval)
                    return
                await self._follow(stop)
            except OperationFailure as e:
                log.info("polling every %gs (change streams refused: %s)", self._poll_interval, e)
                return
            except PyMongoError as e:
                log.debug("change stream interrupted: %s", first_line(e))
                await backoff.sleep(stop)
            finally:
                self.streaming = False

    async def _follow(self, stop: asyncio.Event) -> None:
        async with await self._collection.watch(INSERTS, max_await_time_ms=500) as stream:
            self.streaming = True
            log.info("change stream open: woken on inserts, polling every %gs", self.interval)
            while not stop.is_set():
                started = time.monotonic()
                if await stream.try_next() is not None:
                    self.wake()
                elif time.monotonic() - started < MIN_EMPTY_WAIT:
                    await asyncio.sleep(MIN_EMPTY_WAIT)
