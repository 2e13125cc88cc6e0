"""The sales consumer draining a backlog, per CONSUMER_BATCH: `python -m bench consumer-batch`.

A backlog of N order events (as the relay publishes them: order.placed, a share cancelled
later) waits in the consumer's queue on the real RabbitMQ (AMQP_URL); the sales consumer (the
toolkit's run_consumer with the sales handlers and bulk path, in this process) is started and
timed until it has applied all of them, against the dev database (or MONGODB_URL). Each round
runs every batch size once, in turn, and checks the projection equals one computed from the
events; rates are compared to CONSUMER_BATCH=1 in the same round (only the ratio travels).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from typing import Any

import aio_pika
from aio_pika import DeliveryMode, ExchangeType, Message
from beanie import init_beanie
from pymongo import AsyncMongoClient

import outbox
from bench.support import arguments, median, mongodb, save
from outbox.consumer import Backoff, Consumer, ConsumerMetrics, InboxEntry, Topology, run_consumer
from outbox.consumer.runner import connect
from relay import messages
from relay.records import StoredEvent
from services.sales.documents import CONSUMER, DOCUMENT_MODELS
from services.sales.figures import expected_figures, stored_figures
from services.sales.handlers import apply_batch, handlers
from tests.sales.factories import order_history

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
SALES = "bench_consumer_batch"


def outgoing(document: dict[str, Any]) -> Message:
    """The message the relay publishes for a stored event."""
    event = StoredEvent.model_validate(document)
    built = messages.build(event)
    return Message(
        built.body,
        headers=messages.headers(event),
        content_type=messages.CONTENT_TYPE,
        delivery_mode=DeliveryMode.PERSISTENT,
        correlation_id=str(event.id),
        message_id=str(event.id),
        timestamp=event.occurred_at,
        type=event.type,
        app_id=messages.APP_ID,
    )


async def drain(
    client: AsyncMongoClient[Any], history: list[dict[str, Any]], batch: int, prefetch: int
) -> tuple[float, bool]:
    """Seconds the consumer takes to apply the whole backlog; whether the figures are right."""
    await client.drop_database(SALES)
    await init_beanie(database=client[SALES], document_models=[InboxEntry, *DOCUMENT_MODELS])
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    topology = Topology(
        exchange=f"{prefix}.events",
        queue=f"{prefix}.{CONSUMER}",
        patterns=handlers.types,
        max_deliveries=5,
    )
    consumer = Consumer(CONSUMER, handlers, batch=batch, apply_batch=apply_batch)
    broker = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await broker.channel()
        exchange = await channel.declare_exchange(topology.exchange, ExchangeType.TOPIC)
        await run(consumer, topology, prefetch, lambda _metrics: True)  # declares its queues
        for offset in range(0, len(history), 500):
            chunk = history[offset : offset + 500]
            await asyncio.gather(
                *(exchange.publish(outgoing(d), routing_key=d["routing_key"]) for d in chunk)
            )
        started = time.perf_counter()

        def done(metrics: ConsumerMetrics) -> bool:
            registry = metrics.registry
            return sum(
                registry.get_sample_value(
                    "boundbox_consumer_processed_total", {"consumer": CONSUMER, "type": t}
                )
                or 0.0
                for t in handlers.types
            ) >= len(history)

        await run(consumer, topology, prefetch, done)
        seconds = time.perf_counter() - started
        correct = await stored_figures(client[SALES]) == expected_figures(history)
        for queue in (topology.queue, topology.dead_letter_queue):
            await channel.queue_delete(queue)
        await channel.exchange_delete(f"{topology.queue}.dlx")
        await channel.exchange_delete(topology.exchange)
    finally:
        await broker.close()
    return seconds, correct


async def run(consumer: Consumer, topology: Topology, prefetch: int, done: Any) -> None:
    """Runs the consumer until it is consuming and `done(metrics)` holds (polled), then stops."""
    metrics = ConsumerMetrics(CONSUMER)
    stopping, consuming = asyncio.Event(), asyncio.Event()
    connection = connect(AMQP_URL, name="bench:consumer-batch")
    task = asyncio.create_task(
        run_consumer(
            consumer,
            connection,
            topology=topology,
            prefetch=prefetch,
            metrics=metrics,
            backoff=Backoff(0.05, 0.5),
            stopping=stopping,
            consuming=consuming,
        )
    )
    try:
        deadline = time.monotonic() + 600
        while not (consuming.is_set() and done(metrics)):
            if task.done():
                task.result()
                raise RuntimeError("the consumer stopped")
            if time.monotonic() > deadline:
                raise TimeoutError("the backlog was not drained within 600 s")
            await asyncio.sleep(0.005)
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)
        await connection.close()


async def measure(
    url: str, events: int, rounds: int, batches: list[int], prefetch: int
) -> dict[str, Any]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        url, uuidRepresentation="standard", tz_aware=True
    )
    orders = round(events / 1.3)
    history = order_history(orders, rng=random.Random(7), products=200, customers=500)
    outbox.use_client(client)
    seconds: dict[int, list[float]] = {batch: [] for batch in batches}
    correct = True
    try:
        for index in range(rounds):
            for batch in batches:
                took, right = await drain(client, history, batch, prefetch)
                seconds[batch].append(took)
                correct &= right
                rate = len(history) / took
                print(
                    f"  round {index + 1}: CONSUMER_BATCH={batch:<4} {rate:8,.0f} msg/s", flush=True
                )
        await client.drop_database(SALES)
    finally:
        outbox.use_client(None)
        await client.close()
    base = seconds[batches[0]]
    return {
        "events": len(history),
        "rounds": rounds,
        "prefetch": prefetch,
        "figures_equal_from_scratch": correct,
        "messages_per_s": {str(b): len(history) / median(s) for b, s in seconds.items()},
        "ratio_to_first": {
            str(b): median([one / other for one, other in zip(base, s, strict=True)])
            for b, s in seconds.items()
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = arguments("consumer-batch", __doc__)
    parser.add_argument("--events", type=int, default=3_000, help="backlog size (events)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every batch size")
    parser.add_argument(
        "--batches", default="1,16", help="CONSUMER_BATCH values, the first the reference"
    )
    parser.add_argument("--prefetch", type=int, default=32, help="CONSUMER_PREFETCH")
    options = parser.parse_args(argv or [])
    batches = [int(b) for b in options.batches.split(",")]
    with mongodb() as url:
        result = asyncio.run(
            measure(url, options.events, options.rounds, batches, options.prefetch)
        )
    path = save("consumer_batch", result)
    print(f"the sales consumer draining a backlog of {result['events']:,} events")
    for batch, rate in result["messages_per_s"].items():
        ratio = result["ratio_to_first"][batch]
        print(f"  CONSUMER_BATCH={batch:<4}: {rate:8,.0f} msg/s, x{ratio:.2f} (median of rounds)")
    print(f"  equals from scratch: {result['figures_equal_from_scratch']}\n  saved to {path}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
