"""Turns: commands of this process that write the same documents run one after another.

Two concurrent MongoDB transactions writing one document cannot both commit: the second
fails with a write conflict and is retried from the start, after a backoff. Under load on a
few popular products, most attempts were such retries: each redid every round trip, and
latency grew with every one. Taking turns per document before the transaction starts lets
each attempt run on a fresh snapshot instead, with nobody in this process to conflict with.

Turns only save futile attempts; they guarantee nothing. Other processes (more API replicas)
still meet in write conflicts, which transactions keep retrying, so correctness never rests on
them. Keys are taken in sorted order, so two commands waiting for each other cannot deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager


class Turns:
    """Exclusive in-process turns by key; a key's lock exists only while someone wants it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._wanted: dict[str, int] = {}

    @asynccontextmanager
    async def taking(self, keys: Iterable[str]) -> AsyncIterator[None]:
        """Holds every key's turn for the block (each key once, in sorted order)."""
        wanted = sorted(set(keys))
        for key in wanted:
            self._wanted[key] = self._wanted.get(key, 0) + 1
        acquired: list[asyncio.Lock] = []
        try:
            for key in wanted:
                lock = self._locks.setdefault(key, asyncio.Lock())
                await lock.acquire()
                acquired.append(lock)
            yield
        finally:
            for lock in acquired:
                lock.release()
            for key in wanted:
                self._wanted[key] -= 1
                if not self._wanted[key]:
                    del self._wanted[key]
                    self._locks.pop(key, None)  # a waiter cancelled early never made it

    def __len__(self) -> int:
        """How many keys someone holds or waits for."""
        return len(self._locks)
