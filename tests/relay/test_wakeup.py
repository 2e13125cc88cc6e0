"""The relay's wake-ups: polling without change streams, a change stream where there is one."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymongo.asynchronous.database import AsyncDatabase

import relay.wakeup
from relay.mongo import has_change_streams
from relay.wakeup import Waker
from tests.support.processes import eventually

Database = AsyncDatabase[dict[str, object]]


def waker(database: Database) -> Waker:
    return Waker(database["outbox"], poll_interval=0.01, stream_poll_interval=5.0)  # type: ignore[arg-type]


async def test_without_change_streams_the_relay_polls(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standalone server offers no change streams: told so, the waker polls."""

    async def no(_: object) -> bool:
        return False

    monkeypatch.setattr(relay.wakeup, "has_change_streams", no)
    subject, stop = waker(database), asyncio.Event()
    await asyncio.wait_for(subject.watch(stop), 5)  # returns at once: nothing to follow
    assert not subject.streaming
    started = time.monotonic()
    await subject.wait()
    assert time.monotonic() - started < 1.0  # the short poll interval
    subject.wake()
    await asyncio.wait_for(subject.wait(), 0.5)


async def test_a_change_stream_wakes_the_relay_on_inserts(database: Database) -> None:
    """The server is a replica set (the dev database says so in `hello`, as compose's MongoDB
    does): the waker follows a change stream of inserts, not the poll."""
    assert await has_change_streams(database)
    subject, stop = waker(database), asyncio.Event()
    watching = asyncio.create_task(subject.watch(stop))
    try:

        async def streaming() -> bool:
            return subject.streaming

        await eventually(streaming)
        assert subject.interval == 5.0  # the stream wakes it: the poll is a safety net
        await database["outbox"].insert_one({"status": "pending"})
        await asyncio.wait_for(subject.wait(), 3.0)  # well before the 5 s poll
    finally:
        stop.set()
        await asyncio.wait_for(watching, 5)
    assert not subject.streaming
