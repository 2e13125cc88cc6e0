"""The change log change streams read: every committed write, in commit order, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from devdb.store.versions import Document

CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class Change:
    """One committed write: `position` orders changes (commit ts, then order in the commit)."""

    position: tuple[int, int]
    operation: str  # insert, update, replace, delete, drop, dropDatabase, rename
    database: str
    collection: str
    document_id: Any
    before: Document | None
    after: Document | None
    wall_time: datetime.datetime
    extra: dict[str, Any] = field(default_factory=dict)


class ChangeLog:
    """The newest changes, and a way to wait for the next one."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.entries: deque[Change] = deque(maxlen=capacity)
        self._arrived = asyncio.Event()

    def append(self, changes: list[Change]) -> None:
        self.entries.extend(changes)
        if changes:
            self._arrived.set()
            self._arrived = asyncio.Event()

    def after(self, position: tuple[int, int]) -> list[Change]:
        """Changes strictly after `position`, oldest first."""
        found: list[Change] = []
        for change in reversed(self.entries):
            if change.position <= position:
                break
            found.append(change)
        found.reverse()
        return found

    def covers(self, position: tuple[int, int]) -> bool:
        """True while the log still holds everything after `position`."""
        return (
            not self.entries
            or self.entries[0].position <= position
            or len(self.entries) < (self.entries.maxlen or CAPACITY)
        )

    async def wait(self, seconds: float) -> None:
        """Returns when a change arrives, or after `seconds`."""
        event = self._arrived
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    @property
    def last_position(self) -> tuple[int, int]:
        return self.entries[-1].position if self.entries else (0, 0)
