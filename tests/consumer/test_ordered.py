"""Ordered mode in one process, on the real broker and database: the version rule at work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from pydantic import BaseModel

from outbox.consumer import Backoff, Consumer, ConsumerMetrics, Delivery, Handlers, connect
from outbox.consumer import run_consumer as run
from outbox.consumer.membership import Ordering
from tests.consumer.conftest import AMQP_URL, ConsumerDb
from tests.consumer.messages import take
from tests.consumer.ordered_support import OrderedNames, ordered_names, send
from tests.support.processes import eventually

__all__ = ["ordered_names"]  # a fixture

REASON = "x-boundbox-reason"


class Changed(BaseModel):
    n: int


def recording_handlers(database: Any) -> Handlers:
    handlers = Handlers()

    @handlers.on("thing.changed", payload=Changed)
    async def record(delivery: Delivery) -> None:
        await database["applied"].update_one(
            {"_id": delivery.event.aggregate_id},
            {"$push": {"versions": delivery.event.aggregate_version}},
            upsert=True,
        )

    return handlers


StartOrdered = Callable[..., Awaitable[ConsumerMetrics]]


@pytest.fixture
async def run_ordered(
    ordered_names: OrderedNames, consumer_db: ConsumerDb, test_id: str
) -> AsyncIterator[StartOrdered]:
    """Starts the `things` consumer in ordered mode over 4 queues, stopped after the test."""
    stopping = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    connection = connect(AMQP_URL, name=f"test:{test_id}", reconnect_interval=0.2)

    async def start(*, max_deliveries: int = 3, backoff: float = 0.01) -> ConsumerMetrics:
        consuming = asyncio.Event()
        metrics = ConsumerMetrics("things")
        task = asyncio.create_task(
            run(
                Consumer("things", recording_handlers(consumer_db.database)),
                connection,
                topology=ordered_names.topology(
                    "things", partitions=4, max_deliveries=max_deliveries
                ),
                prefetch=8,
                metrics=metrics,
                backoff=Backoff(backoff, backoff * 2),
                stopping=stopping,
                consuming=consuming,
                ordering=Ordering(member=test_id, heartbeat=0.2, expiry=1.0),
            )
        )
        tasks.append(task)
        waiting = asyncio.ensure_future(consuming.wait())
        await asyncio.wait({task, waiting}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert consuming.is_set(), "the ordered consumer did not start consuming"
        return metrics

    try:
        yield start
    finally:
        stopping.set()
        for task in tasks:
            await asyncio.wait_for(task, 30)
        await connection.close()


async def applied(consumer_db: ConsumerDb, aggregate: str) -> list[int]:
    found = await consumer_db.database["applied"].find_one({"_id": aggregate})
    return [] if found is None else list(found["versions"])


async def test_versions_are_applied_in_order_once_and_a_gap_waits_for_what_is_missing(
    run_ordered: StartOrdered,
    ordered_names: OrderedNames,
    consumer_db: ConsumerDb,
    channel: AbstractRobustChannel,
) -> None:
    metrics = await run_ordered(max_deliveries=20, backoff=0.1)  # a gap waits 10-20 s at most
    await send(channel, ordered_names, "a", 1)
    await send(channel, ordered_names, "a", 3)  # a gap: waits for 2
    await send(channel, ordered_names, "b", 5)  # an aggregate not seen yet starts anywhere
    await eventually(lambda: _is(applied(consumer_db, "b"), [5]), within=15)
    await eventually(lambda: _failed(metrics, at_least=2), within=15)  # 3 tried, requeued
    assert await applied(consumer_db, "a") == [1]

    await send(channel, ordered_names, "a", 2)
    await eventually(lambda: _is(applied(consumer_db, "a"), [1, 2, 3]), within=15)

    await send(channel, ordered_names, "a", 2, {"n": 22})  # a version applied before: a no-op
    await send(channel, ordered_names, "a", 4, event_type="thing.noted")  # no handler: takes 4
    await send(channel, ordered_names, "a", 5, {"n": "not a number"})  # poison: takes 5
    await send(channel, ordered_names, "a", 6)
    await eventually(lambda: _is(applied(consumer_db, "a"), [1, 2, 3, 6]), within=15)

    dlq = await channel.get_queue(ordered_names.topology("things", partitions=4).dead_letter_queue)
    dead = await take(dlq)
    assert dead.headers[REASON] == "invalid-payload"
    assert dead.headers["aggregate_version"] == 5
    assert await dlq.get(fail=False) is None


async def test_a_gap_that_never_closes_is_dead_lettered_and_nothing_after_it_is_applied(
    run_ordered: StartOrdered,
    ordered_names: OrderedNames,
    consumer_db: ConsumerDb,
    channel: AbstractRobustChannel,
) -> None:
    await run_ordered()
    await send(channel, ordered_names, "c", 1)
    await send(channel, ordered_names, "c", 3)
    dlq = await channel.get_queue(ordered_names.topology("things", partitions=4).dead_letter_queue)
    dead = await take(dlq, within=15)
    assert dead.headers[REASON] == "version-gap"
    assert dead.headers["aggregate_version"] == 3
    assert "waits for version 2" in str(dead.headers["x-boundbox-error"])
    assert dead.headers["x-boundbox-deliveries"] == 3  # the delivery limit
    assert await applied(consumer_db, "c") == [1]
    versions = consumer_db.database["consumer_versions"]
    assert [d["version"] async for d in versions.find({"consumer": "things"})] == [1]


async def test_the_queues_and_hash_exchange_are_declared_as_ordered_mode_needs(
    run_ordered: StartOrdered,
    ordered_names: OrderedNames,
    broker: AbstractRobustConnection,
) -> None:
    await run_ordered()
    topology = ordered_names.topology("things", partitions=4)
    channel = await broker.channel()
    await channel.get_exchange(topology.hash_exchange, ensure=True)
    for name in topology.partition_queues:
        queue = await channel.declare_queue(name, passive=True)
        assert queue.declaration_result.consumer_count == 1
    with pytest.raises(Exception, match="NOT_FOUND"):
        await channel.declare_queue(topology.queue, passive=True)  # no shared queue


async def _failed(metrics: ConsumerMetrics, *, at_least: int) -> bool:
    labels = {"consumer": "things", "kind": "failure"}
    value = metrics.registry.get_sample_value("boundbox_consumer_failures_total", labels)
    return (value or 0) >= at_least


async def _is(found: Awaitable[list[int]], expected: list[int]) -> bool:
    return await found == expected
