"""Dependency states that log once per change, and the backoff between reconnection attempts."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable


class Dependency:
    """Up or down; a transition is logged once, however often the same state is reported."""

    def __init__(
        self, name: str, log: logging.Logger, on_change: Callable[[bool], None] | None = None
    ) -> None:
        self.name = name
        self.is_up = False
        self.failures = 0
        self.last_error: str | None = None
        self.down_since: float | None = None
        self._log = log
        self._on_change = on_change
        self._known = False

    def up(self, detail: str = "") -> None:
        self.failures = 0
        self.last_error = None
        self.down_since = None
        if self.is_up and self._known:
            return
        self.is_up, self._known = True, True
        self._log.info("%s up%s", self.name, f" {detail}" if detail else "")
        if self._on_change is not None:
            self._on_change(True)

    def down(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self.down_since is None:
            self.down_since = time.monotonic()
        if not self.is_up and self._known:
            return
        self.is_up, self._known = False, True
        self._log.warning("%s down error=%r (retrying with backoff)", self.name, error)
        if self._on_change is not None:
            self._on_change(False)

    def down_for(self) -> float:
        """Seconds since the dependency went down (0 while up)."""
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since


class Backoff:
    """Exponential delays with jitter: first, 2*first, ... up to `ceiling`."""

    def __init__(self, first: float = 0.1, ceiling: float = 5.0) -> None:
        self.first = first
        self.ceiling = ceiling
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.ceiling, self.first * 2**self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    async def sleep(self, stop: asyncio.Event) -> None:
        """Waits the next delay, or less when `stop` is set meanwhile."""
        await wait_for_event(stop, self.next_delay())


async def wait_for_event(event: asyncio.Event, seconds: float) -> bool:
    """Waits until `event` is set or `seconds` have passed; True when the event was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
