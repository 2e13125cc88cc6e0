"""Ordered mode across processes: three instances share the queues, one is killed mid-stream
and comes back, and every aggregate's events are still applied in order, exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from tests.consumer.conftest import AMQP_URL, consumers_of
from tests.consumer.messages import event_message, publish
from tests.consumer.ordered_support import OrderedNames, ordered_names
from tests.support.processes import eventually, free_port

__all__ = ["ordered_names"]  # a fixture

AGGREGATES, VERSIONS, PARTITIONS = 200, 10, 8

Start = Callable[[str], Awaitable[subprocess.Popen[bytes]]]


def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.consumer.ordered_app"], env=env)


@pytest.fixture
async def start_instance(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]], ordered_names: OrderedNames
) -> AsyncIterator[Start]:
    """`await start_instance(member)`: an ordered consumer process, ready; killed after."""
    processes: list[subprocess.Popen[bytes]] = []

    async def start(member: str) -> subprocess.Popen[bytes]:
        port = free_port()
        env = {
            **os.environ,
            "MONGODB_URL": mongodb_url,
            "DATABASE": database.name,
            "AMQP_URL": AMQP_URL,
            "EXCHANGE_NAME": ordered_names.exchange,
            "CONSUMER_QUEUE_PREFIX": ordered_names.prefix,
            "CONSUMER_PARTITIONS": str(PARTITIONS),
            "CONSUMER_PORT": str(port),
            "ORDERED_MEMBER": member,
        }
        process = spawn(env)
        processes.append(process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"{member} exited with {process.returncode}")
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=30, interval=0.05)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


async def test_three_instances_one_killed_apply_every_aggregate_in_order_exactly_once(
    start_instance: Start,
    ordered_names: OrderedNames,
    database: AsyncDatabase[dict[str, Any]],
    broker: AbstractRobustConnection,
    channel: AbstractRobustChannel,
) -> None:
    queues = ordered_names.topology("things", partitions=PARTITIONS).partition_queues
    started = {member: await start_instance(member) for member in ("m1", "m2", "m3")}

    async def one_consumer_each() -> bool:  # the handovers are over: one reader per queue
        return all([await consumers_of(broker, queue) == 1 for queue in queues])

    await eventually(one_consumer_each, within=20, interval=0.1)

    for version in range(1, VERSIONS + 1):  # each version confirmed before the next is sent
        await asyncio.gather(
            *(
                publish(
                    channel,
                    ordered_names.exchange,
                    "thing.changed",
                    event_message("thing.changed", {}, aggregate_id=f"a{n}", version=version),
                )
                for n in range(AGGREGATES)
            )
        )

    async def applied_count() -> int:
        cursor = await database["applied"].aggregate(
            [
                {"$project": {"n": {"$size": "$versions"}}},
                {"$group": {"_id": None, "n": {"$sum": "$n"}}},
            ]
        )
        found = await cursor.to_list()
        return int(found[0]["n"]) if found else 0

    total = AGGREGATES * VERSIONS
    await eventually(lambda: _above(applied_count(), total // 5), within=30, interval=0.05)
    started["m3"].send_signal(signal.SIGKILL)
    started["m3"].wait(timeout=10)
    applied_when_killed = await applied_count()
    assert applied_when_killed < total, "the stream ended before the kill: nothing proven"
    await start_instance("m3-again")

    await eventually(lambda: _above(applied_count(), total - 1), within=45, interval=0.1)
    documents = await database["applied"].find({}).to_list()
    assert len(documents) == AGGREGATES
    wrong = [d["_id"] for d in documents if d["versions"] != list(range(1, VERSIONS + 1))]
    assert not wrong, f"not applied once each in order: {wrong[:5]}"
    shares = Counter(member for d in documents for member in d["by"])
    assert set(shares) <= {"m1", "m2", "m3", "m3-again"}
    for member in ("m1", "m2", "m3"):
        assert shares[member] > 0, f"{member} applied nothing: {shares}"
    assert shares["m3-again"] > 0 or applied_when_killed > total * 0.9, shares
    dlq = await channel.get_queue(f"{ordered_names.prefix}.things.dlq")
    assert await dlq.get(fail=False) is None


async def _above(count: Awaitable[int], threshold: int) -> bool:
    return await count > threshold
