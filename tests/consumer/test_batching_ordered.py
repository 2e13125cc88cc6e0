"""Batches in ordered mode: the version check runs per message inside the batch's transaction."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractRobustChannel
from pydantic import BaseModel

from outbox.consumer import Backoff, Consumer, ConsumerMetrics, Delivery, Handlers, connect
from outbox.consumer import run_consumer as run
from outbox.consumer.membership import Ordering
from outbox.session import bound_session
from tests.consumer.conftest import AMQP_URL, ConsumerDb
from tests.consumer.messages import take
from tests.consumer.ordered_support import OrderedNames, ordered_names, send
from tests.support.processes import eventually

__all__ = ["ordered_names"]  # a fixture

CHANGED = "thing.changed"


class Changed(BaseModel):
    n: int


async def test_a_poison_version_inside_a_batch_takes_its_turn_and_the_others_apply_in_order(
    ordered_names: OrderedNames,
    consumer_db: ConsumerDb,
    channel: AbstractRobustChannel,
    test_id: str,
) -> None:
    gate_reached, gate_open = asyncio.Event(), asyncio.Event()
    sessions: dict[int, object] = {}
    handlers = Handlers()

    @handlers.on(CHANGED, payload=Changed)
    async def record(delivery: Delivery) -> None:
        event = delivery.event
        if event.aggregate_id == "gate":
            gate_reached.set()
            await gate_open.wait()
            return
        sessions[event.aggregate_version] = bound_session()
        await consumer_db.database["applied"].update_one(
            {"_id": event.aggregate_id},
            {"$push": {"versions": event.aggregate_version}},
            upsert=True,
        )

    topology = ordered_names.topology("things", partitions=1)
    stopping, consuming = asyncio.Event(), asyncio.Event()
    metrics = ConsumerMetrics("things")
    connection = connect(AMQP_URL, name=f"test:{test_id}", reconnect_interval=0.2)
    task = asyncio.create_task(
        run(
            Consumer("things", handlers, batch=8),
            connection,
            topology=topology,
            prefetch=8,
            metrics=metrics,
            backoff=Backoff(0.01, 0.02),
            stopping=stopping,
            consuming=consuming,
            ordering=Ordering(member=test_id, heartbeat=0.2, expiry=1.0),
        )
    )
    try:
        await asyncio.wait_for(consuming.wait(), timeout=15)
        await send(channel, ordered_names, "gate", 1)
        await asyncio.wait_for(gate_reached.wait(), timeout=15)
        for version in range(1, 6):  # version 3 is poison: its payload is refused
            await send(channel, ordered_names, "a", version, {"n": "x" if version == 3 else 1})

        async def at_hand() -> bool:
            queue = await channel.declare_queue(topology.partition_queues[0], passive=True)
            return queue.declaration_result.message_count == 0

        await eventually(at_hand, within=10)
        gate_open.set()

        async def applied() -> list[int]:
            found = await consumer_db.database["applied"].find_one({"_id": "a"})
            return [] if found is None else list(found["versions"])

        async def all_applied() -> bool:
            return await applied() == [1, 2, 4, 5]

        await eventually(all_applied, within=15)
        assert sessions[1] is sessions[2]  # one batch before the poison version
        assert sessions[4] is sessions[5]  # one after it
        dlq = await channel.get_queue(topology.dead_letter_queue)
        dead = await take(dlq)
        assert dead.headers["x-boundbox-reason"] == "invalid-payload"
        assert dead.headers["aggregate_version"] == 3
    finally:
        stopping.set()
        await asyncio.wait_for(task, 30)
        await connection.close()
