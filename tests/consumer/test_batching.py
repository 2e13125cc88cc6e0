"""Batches: the deliveries at hand applied in one transaction, against the real broker and database.

A gate message holds the consumer in its handler while the test publishes the next messages,
so they are prefetched and at hand together when it lets go.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aio_pika import Message
from aio_pika.abc import AbstractRobustChannel
from pydantic import BaseModel

import outbox
from outbox.consumer import Delivery, Handlers, PoisonMessageError
from outbox.session import bound_session
from tests.consumer.conftest import ConsumerDb, Names, Running, StartConsumer, Tally
from tests.consumer.messages import event_message, publish, raw_message, take
from tests.consumer.test_consumer import KilledError, counted, tally
from tests.support.processes import eventually

COUNTED = "tally.counted"
GATE = "gate"


class Counted(BaseModel):
    key: str


@dataclass
class Recorder:
    """What the handlers saw: each call's key and the transaction's session, and the gate."""

    calls: list[str] = field(default_factory=list)
    sessions: dict[str, object] = field(default_factory=dict)
    gate_reached: asyncio.Event = field(default_factory=asyncio.Event)
    gate_open: asyncio.Event = field(default_factory=asyncio.Event)
    fail_once: set[str] = field(default_factory=set)

    def handlers(self) -> Handlers:
        handlers = Handlers()

        @handlers.on(COUNTED, payload=Counted)
        async def count(delivery: Delivery) -> None:
            key = delivery.payload(Counted).key
            self.calls.append(key)
            self.sessions[key] = bound_session()
            await add(key)
            if key == GATE:
                self.gate_reached.set()
                await self.gate_open.wait()
            if key == "reject":
                raise PoisonMessageError("this one is hopeless")
            if key in self.fail_once:
                self.fail_once.discard(key)
                raise RuntimeError(f"{key} fails once")

        return handlers

    def batch_of(self, key: str) -> list[str]:
        """The keys applied in the same transaction as `key` (in its last attempt)."""
        return [k for k, s in self.sessions.items() if s is self.sessions[key]]


async def add(key: str) -> None:
    """Counts `key` and writes it to the journal: the order effects were committed in."""
    await Tally.get_pymongo_collection().update_one(
        {"_id": key}, {"$inc": {"total": 1}}, upsert=True
    )
    await journal().update_one({"_id": "log"}, {"$push": {"keys": key}}, upsert=True)


def journal() -> Any:
    return Tally.get_pymongo_collection().database["journal"]


async def journaled() -> list[str]:
    found = await journal().find_one({"_id": "log"})
    return list(found["keys"]) if found else []


def counted_message(key: str, **options: Any) -> Message:
    return event_message(COUNTED, {"key": key}, **options)


async def held(
    run: Running,
    recorder: Recorder,
    channel: AbstractRobustChannel,
    names: Names,
    messages: Sequence[Message],
    *,
    left: int = 0,
) -> None:
    """Publishes the gate, then `messages` while the gate holds the consumer; lets go once the
    broker has delivered all of them (they are at hand) but the `left` the prefetch holds back."""
    await publish(channel, names.exchange, COUNTED, counted_message(GATE))
    await asyncio.wait_for(recorder.gate_reached.wait(), timeout=15)
    for message in messages:
        await publish(channel, names.exchange, COUNTED, message)

    async def delivered() -> bool:
        queue = await channel.declare_queue(run.topology.queue, passive=True)
        return queue.declaration_result.message_count == left

    await eventually(delivered, within=10)
    recorder.gate_open.set()


async def test_messages_at_hand_share_one_transaction_applied_in_order(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    run = await start_consumer(recorder.handlers(), batch=8, prefetch=8)
    keys = [f"k{i}" for i in range(5)]
    await held(run, recorder, channel, names, [counted_message(k) for k in keys])

    await counted(run, "processed_total", 6, type=COUNTED)
    assert await journaled() == [GATE, *keys]
    assert len(recorder.batch_of("k0")) > 1  # at hand together: one transaction
    assert recorder.batch_of("k0") == keys[: len(recorder.batch_of("k0"))]
    await run.stop()
    queue = await channel.declare_queue(run.topology.queue, passive=True)
    assert queue.declaration_result.message_count == 0  # every one acknowledged


async def test_a_failing_batch_commits_nothing_and_its_messages_are_applied_one_by_one(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder(fail_once={"k2"})
    run = await start_consumer(recorder.handlers(), batch=8, prefetch=8)
    keys = [f"k{i}" for i in range(5)]
    await held(run, recorder, channel, names, [counted_message(k) for k in keys])

    await counted(run, "processed_total", 6, type=COUNTED)
    for key in keys:
        assert await tally(key) == 1  # the aborted batch left nothing behind
    assert recorder.calls.count("k0") == 2  # in the aborted batch, then on its own
    assert await journaled() == [GATE, *keys]
    assert run.count("failures_total", kind="failure") == 1
    assert run.count("dead_lettered_total", reason="exhausted") == 0


async def test_a_crash_after_a_batch_commits_redelivers_it_and_applies_it_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    crashed: list[str] = []

    def crash(delivery: Delivery) -> None:
        if delivery.event.payload["key"] != GATE:
            crashed.append(delivery.event.payload["key"])
            raise KilledError  # stands for the kill: no message of the batch is acknowledged

    run = await start_consumer(recorder.handlers(), batch=8, prefetch=8, after_commit=crash)
    keys = [f"k{i}" for i in range(5)]
    await held(run, recorder, channel, names, [counted_message(k) for k in keys])
    with pytest.raises(KilledError):
        await asyncio.wait_for(run.task, timeout=15)
    await run.connection.close()  # the unacknowledged messages go back to the queue
    batch = recorder.batch_of(crashed[0])
    assert len(batch) > 1
    for key in batch:
        assert await tally(key) == 1  # the whole batch committed before the crash

    again = await start_consumer(Recorder().handlers(), batch=8, prefetch=8)
    await counted(again, "duplicates_total", len(batch))
    await counted(again, "processed_total", len(keys) - len(batch), type=COUNTED)
    for key in keys:
        assert await tally(key) == 1
    assert await journaled() == [GATE, *keys]


async def test_poison_in_a_batch_is_dead_lettered_and_the_others_applied_once_in_order(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    run = await start_consumer(recorder.handlers(), batch=16, prefetch=16, max_deliveries=5)
    invalid = event_message(COUNTED, {"key": 7})  # the payload model wants a string
    unparseable = raw_message(b"{not json")
    rejected = counted_message("reject")
    messages = [
        counted_message("k0"),
        invalid,
        counted_message("k1"),
        rejected,
        counted_message("k2"),
        unparseable,
        counted_message("k3"),
    ]
    await held(run, recorder, channel, names, messages)

    await counted(run, "processed_total", 5, type=COUNTED)
    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)
    reasons = {}
    for _ in range(3):
        dead = await take(dlq)
        reasons[dead.message_id] = dead.headers["x-boundbox-reason"]
    assert reasons == {
        invalid.message_id: "invalid-payload",
        rejected.message_id: "rejected",
        unparseable.message_id: "unparseable",
    }
    assert await journaled() == [GATE, "k0", "k1", "k2", "k3"]
    assert recorder.batch_of("k0") == ["k0"]  # a refused message splits the batch, in order
    for key in ("k0", "k1", "k2", "k3"):
        assert await tally(key) == 1
    assert await tally("reject") == 0


async def test_order_is_kept_across_batches(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    run = await start_consumer(recorder.handlers(), batch=4, prefetch=8)
    keys = [f"k{i:02}" for i in range(40)]
    await held(run, recorder, channel, names, [counted_message(k) for k in keys], left=40 - 7)

    await counted(run, "processed_total", 41, type=COUNTED)
    assert await journaled() == [GATE, *keys]
    sizes = [len(recorder.batch_of(k)) for k in keys]
    assert max(sizes) <= 4
    assert len({id(recorder.sessions[k]) for k in keys}) < len(keys)  # some shared one


async def test_duplicates_in_a_batch_and_in_the_inbox_are_applied_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    run = await start_consumer(recorder.handlers(), batch=8, prefetch=8)
    before = str(uuid.uuid4())
    await publish(channel, names.exchange, COUNTED, counted_message("before", event_id=before))
    await counted(run, "processed_total", 1, type=COUNTED)
    twice = str(uuid.uuid4())
    messages = [
        counted_message("twice", event_id=twice),
        counted_message("before", event_id=before),
        counted_message("twice", event_id=twice),
        counted_message("k0"),
    ]
    await held(run, recorder, channel, names, messages)

    await counted(run, "duplicates_total", 2)
    await counted(run, "processed_total", 4, type=COUNTED)
    assert await journaled() == ["before", GATE, "twice", "k0"]
    assert recorder.calls.count("twice") == 1


async def test_a_bulk_handler_applies_what_the_guard_admits(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    recorder = Recorder()
    bulks: list[list[str]] = []

    async def apply_all(deliveries: Sequence[Delivery]) -> None:
        keys = [d.payload(Counted).key for d in deliveries]
        bulks.append(keys)
        for key in keys:
            await add(key)

    async def guard(delivery: Delivery) -> bool:
        return delivery.payload(Counted).key != "passed-over"

    run = await start_consumer(
        recorder.handlers(), batch=8, prefetch=8, apply_batch=apply_all, guard=guard
    )
    messages = [counted_message(k) for k in ("k0", "passed-over", "k1")]
    await held(run, recorder, channel, names, messages)

    await counted(run, "processed_total", 3, type=COUNTED)
    await counted(run, "duplicates_total", 1)
    assert await journaled() == [GATE, "k0", "k1"]
    assert [key for bulk in bulks for key in bulk] == ["k0", "k1"]
    assert await tally("passed-over") == 0


async def test_mongodb_unreachable_retries_the_batch_in_place(
    start_consumer: StartConsumer,
    channel: AbstractRobustChannel,
    names: Names,
    consumer_db: ConsumerDb,
) -> None:
    recorder = Recorder()
    run = await start_consumer(
        recorder.handlers(),
        batch=8,
        prefetch=8,
        max_deliveries=1,
        policy=outbox.RetryPolicy(budget_seconds=0.2),
    )
    keys = ["k0", "k1", "k2"]
    recorder.gate_open.set()  # the gate passes: its commit is not a failing command
    await publish(channel, names.exchange, COUNTED, counted_message(GATE))
    await counted(run, "processed_total", 1, type=COUNTED)
    await consumer_db.fail(["find", "insert", "update"], closeConnection=True)
    try:
        for key in keys:
            await publish(channel, names.exchange, COUNTED, counted_message(key))
        await counted(run, "failures_total", 2, kind="outage")
    finally:
        await consumer_db.heal()

    await counted(run, "processed_total", 4, type=COUNTED)
    assert run.count("dead_lettered_total", reason="exhausted") == 0
    assert await journaled() == [GATE, *keys]
