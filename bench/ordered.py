"""One consumer draining a backlog, shared queue against ordered mode: `python -m bench ordered`.

A backlog of aggregates x versions `thing.changed` events waits in the consumer's queues on the
real RabbitMQ (AMQP_URL); one consumer (the toolkit's run_consumer, in this process) is timed
until it has applied all of them, against the dev database (or MONGODB_URL). Each round runs
the shared queue and ordered mode (8 queues, the version check) once each at one
CONSUMER_BATCH; only their ratio in the same round travels.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any

import aio_pika
from aio_pika import ExchangeType
from beanie import init_beanie
from pymongo import AsyncMongoClient

import outbox
from bench.support import arguments, median, mongodb, save
from outbox.consumer import (
    Backoff,
    Consumer,
    ConsumerMetrics,
    Delivery,
    Handlers,
    InboxEntry,
    Ordering,
    Topology,
    connect,
    run_consumer,
)
from tests.consumer.messages import event_message

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def drain(
    client: AsyncMongoClient[Any], *, partitions: int, batch: int, aggregates: int, versions: int
) -> float:
    """Events per second one consumer applies from a backlog, on queues of its own."""
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    database = client[f"bench_ordered_{uuid.uuid4().hex[:8]}"]
    await init_beanie(database=database, document_models=[InboxEntry])
    outbox.use_client(client)
    handlers = Handlers()

    @handlers.on("thing.changed")
    async def count(delivery: Delivery) -> None:
        await database["applied"].update_one(
            {"_id": delivery.event.aggregate_id}, {"$inc": {"n": 1}}, upsert=True
        )

    broker = await aio_pika.connect_robust(AMQP_URL)
    channel = await broker.channel()
    events = await channel.declare_exchange(f"{prefix}.events", ExchangeType.TOPIC, durable=True)
    topology = Topology(
        exchange=events.name,
        queue=f"{prefix}.things",
        patterns=("thing.changed",),
        max_deliveries=10,
        partitions=partitions,
    )
    stopping, consuming = asyncio.Event(), asyncio.Event()
    connection = connect(AMQP_URL, name=f"bench:{prefix}")
    task = asyncio.create_task(
        run_consumer(
            Consumer("things", handlers, batch=batch),
            connection,
            topology=topology,
            prefetch=32,
            metrics=ConsumerMetrics("things"),
            backoff=Backoff(0.2, 1.0),
            stopping=stopping,
            consuming=consuming,
            ordering=Ordering(member="bench", heartbeat=0.5, expiry=3.0),
        )
    )
    try:
        await consuming.wait()
        for version in range(1, versions + 1):
            await asyncio.gather(
                *(
                    events.publish(
                        event_message("thing.changed", {}, aggregate_id=f"a{n}", version=version),
                        routing_key="thing.changed",
                    )
                    for n in range(aggregates)
                )
            )
        started = time.perf_counter()  # the backlog is in the queues: time the drain alone
        # The database offers no event for "all applied": polled, the way a test would.
        while await applied(database) < aggregates * versions:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return aggregates * versions / (time.perf_counter() - started)
    finally:
        stopping.set()
        await task
        await connection.close()
        for queue in (*topology.partition_queues, topology.queue, topology.dead_letter_queue):
            await channel.queue_delete(queue)
        for exchange in (topology.hash_exchange, topology.dead_letter_exchange, events.name):
            await channel.exchange_delete(exchange)
        await broker.close()
        await client.drop_database(database.name)


async def applied(database: Any) -> int:
    return sum([document["n"] async for document in database["applied"].find({})])


async def run(rounds: int, batch: int, aggregates: int, versions: int) -> dict[str, Any]:
    with mongodb() as url:
        client: AsyncMongoClient[Any] = AsyncMongoClient(
            url, uuidRepresentation="standard", tz_aware=True
        )
        ratios = []
        for number in range(rounds):
            rates = [
                await drain(
                    client,
                    partitions=partitions,
                    batch=batch,
                    aggregates=aggregates,
                    versions=versions,
                )
                for partitions in (0, 8)
            ]
            ratios.append(rates[1] / rates[0])
            print(
                f"round {number}: shared {rates[0]:.0f}/s, ordered {rates[1]:.0f}/s,"
                f" ratio {ratios[-1]:.2f}"
            )
        print(f"CONSUMER_BATCH={batch}: median ordered/shared {median(ratios):.2f}")
        await client.close()
    return {"batch": batch, "ratios": ratios, "median_ratio": median(ratios)}


def main(argv: list[str]) -> dict[str, Any]:
    parser = arguments("ordered", __doc__)
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds")
    parser.add_argument("--batch", type=int, default=1, help="CONSUMER_BATCH of both modes")
    parser.add_argument("--aggregates", type=int, default=100, help="aggregates in the backlog")
    parser.add_argument("--versions", type=int, default=10, help="events of each aggregate")
    options = parser.parse_args(argv)
    result = asyncio.run(run(options.rounds, options.batch, options.aggregates, options.versions))
    print(f"saved {save('ordered', result)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
