"""The relay's throughput and latency, beside the raw ceilings of the broker and the database.

In one run, against the same broker and database:
- (a) raw aio-pika publishing with pipelined confirms (batches of BATCH, mandatory, a bound
  classic queue) of the very messages the relay sends for such events, built beforehand: the
  broker's ceiling for them;
- (b) raw read-and-mark of outbox documents: read BATCH pending events, mark exactly those
  published (by their unique key, grouped by version; the dev database cannot match UUID
  `_id`s), and for reference the same by `_id` on ObjectId-keyed copies;
- the relay draining a backlog of EVENTS events recorded with `outbox.record()`;
- commit→delivery latency at a steady rate on an idle relay (commit returned → a consumer has
  the message), so slightly more than commit→publish.

Prints the drain / min(a, b) ratio (target >= 0.7) and the p99 latency (target <= 100 ms).
Run: `.venv/bin/python -m bench.relay_bench` (MONGODB_URL and AMQP_URL are honoured).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aio_pika
from beanie import init_beanie
from bson import ObjectId
from pymongo import AsyncMongoClient

import outbox
from bench import cpu
from bench.support import arguments, median, mongodb, percentile, save
from boundbox import runtime
from boundbox.settings import Settings
from outbox.events import partition_of
from relay.main import serve
from relay.messages import build
from relay.metrics import Metrics
from relay.records import parse
from relay.retention import retention_index
from relay.store import OutboxStore
from tests.support.processes import eventually

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DEFAULT_PORTS = {"mongodb": 27017, "amqp": 5672}
EVENTS = 10_000
BATCH = 500
AGGREGATES = 2_000  # the backlog: 5 versions each, interleaved
LATENCY_RATE = 50.0  # commands per second
LATENCY_SECONDS = 12.0
ROUNDS = 3
TARGET_RATIO, TARGET_P99_MS = 0.7, 100.0
Client = AsyncMongoClient[dict[str, Any]]
CORES = os.cpu_count() or 1


def server_pid(url: str) -> int | None:
    """The process serving `url` when it runs on this machine."""
    parsed = urlsplit(url.split(",")[0])
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme)
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    return cpu.listener_pid(port) if local and port else None


def outbox_document(n: int, *, object_id: bool = False) -> dict[str, Any]:
    aggregate_id = f"raw-{n % AGGREGATES}"
    now = datetime.now(UTC)
    return {
        "_id": ObjectId() if object_id else uuid.uuid4(),
        "type": "order.changed",
        "aggregate_type": "order",
        "aggregate_id": aggregate_id,
        "aggregate_version": n // AGGREGATES + 1,
        "occurred_at": now,
        "payload": {"n": n, "sku": "ABC-123", "quantity": 2, "note": "benchmark"},
        "headers": {"correlation_id": None, "causation_id": None, "traceparent": None},
        "routing_key": "order.changed",
        "partition": partition_of("order", aggregate_id),
        "status": "pending",
        "attempts": 0,
        "available_at": now,
    }


def relay_message(n: int) -> aio_pika.Message:
    """The message the relay sends for event n, as a plain aio-pika message."""
    outgoing = build(parse(outbox_document(n)))
    properties = outgoing.properties
    return aio_pika.Message(
        outgoing.body,
        headers=properties.headers,
        content_type=properties.content_type,
        delivery_mode=aio_pika.DeliveryMode(properties.delivery_mode),
        correlation_id=properties.correlation_id,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.message_type,
        app_id=properties.app_id,
    )


async def raw_publish(exchange_name: str) -> float:
    """(a) messages/s: batches published concurrently on one confirm channel."""
    connection = await aio_pika.connect(
        AMQP_URL, client_properties={"connection_name": "bench relay raw-publish"}
    )
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{exchange_name}.raw", durable=True)
        await queue.bind(exchange, "#")
        messages = [relay_message(n) for n in range(EVENTS)]
        started = time.perf_counter()
        for start in range(0, EVENTS, BATCH):
            await asyncio.gather(
                *(
                    exchange.publish(message, "order.changed", mandatory=True)
                    for message in messages[start : start + BATCH]
                )
            )
        rate = EVENTS / (time.perf_counter() - started)
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return rate
    finally:
        await connection.close()


async def raw_read_and_mark(client: Client, *, object_id: bool) -> float:
    """(b) events/s: read a batch of pending events, mark exactly those published."""
    name = f"bench_relay_raw_{'oid' if object_id else 'key'}"
    await client.drop_database(name)
    database = client[name]
    await OutboxStore(database, retention_seconds=7 * 24 * 3600).prepare()  # the same indexes
    events = database["outbox"]
    for start in range(0, EVENTS, 1000):
        await events.insert_many(
            [outbox_document(n, object_id=object_id) for n in range(start, start + 1000)]
        )
    started, marked = time.perf_counter(), 0
    while True:
        batch = (
            await events.find({"status": "pending"})
            .sort([("occurred_at", 1), ("aggregate_version", 1)])
            .limit(BATCH)
            .to_list()
        )
        if not batch:
            break
        update = {"$set": {"status": "published"}, "$currentDate": {"published_at": True}}
        if object_id:
            result = await events.update_many({"_id": {"$in": [d["_id"] for d in batch]}}, update)
            marked += result.modified_count
            continue
        by_version: dict[int, list[str]] = {}
        for document in batch:
            by_version.setdefault(document["aggregate_version"], []).append(
                document["aggregate_id"]
            )
        for version, ids in by_version.items():
            result = await events.update_many(
                {
                    "status": "pending",
                    "aggregate_type": "order",
                    "aggregate_id": {"$in": ids},
                    "aggregate_version": version,
                },
                update,
            )
            marked += result.modified_count
    rate = marked / (time.perf_counter() - started)
    assert marked == EVENTS, f"marked {marked} of {EVENTS}"
    await client.drop_database(name)
    return rate


@outbox.transactional()
async def record_round(aggregate_ids: list[str]) -> None:
    for aggregate_id in aggregate_ids:
        await outbox.record(
            aggregate_type="order",
            aggregate_id=aggregate_id,
            name="changed",
            payload={"sku": "ABC-123", "quantity": 2, "note": "benchmark"},
        )


@outbox.transactional()
async def record_one(aggregate_id: str) -> outbox.OutboxEvent:
    return await outbox.record(
        aggregate_type="order", aggregate_id=aggregate_id, name="placed", payload={"sku": "A"}
    )


async def relay_run(
    client: Client, url: str, exchange_name: str, *, latency: bool, pids: dict[str, int | None]
) -> dict[str, Any]:
    """The drain of a recorded backlog, then (`latency`) commit→delivery at a steady rate."""
    name = "bench_relay"
    await client.drop_database(name)
    database = client[name]
    await init_beanie(database=database, document_models=outbox.DOCUMENT_MODELS)  # type: ignore[arg-type]
    outbox.use_client(client)
    ids = [f"o-{n}" for n in range(AGGREGATES)]
    for _ in range(EVENTS // AGGREGATES):
        for start in range(0, AGGREGATES, 100):
            await record_round(ids[start : start + 100])

    connection = await aio_pika.connect(
        AMQP_URL, client_properties={"connection_name": "bench relay consumer"}
    )
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{exchange_name}.relay", durable=True)
        await queue.bind(exchange, "#")
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            mongodb_url=url,
            mongodb_db=name,
            amqp_url=AMQP_URL,
            exchange_name=exchange_name,
            relay_id="bench",
            relay_port=int(os.environ.get("BENCH_RELAY_PORT", "19191")),
            relay_batch_size=int(os.environ.get("BENCH_RELAY_BATCH_SIZE", "0"))
            or Settings.model_fields["relay_batch_size"].default,
        )
        metrics, stop = Metrics(), asyncio.Event()
        relay = asyncio.create_task(serve(settings, stop, metrics=metrics))

        def reached(sample: str, target: float) -> Callable[[], Awaitable[bool]]:
            async def probe() -> bool:
                return (metrics.registry.get_sample_value(sample) or 0.0) >= target

            return probe

        await eventually(reached("boundbox_relay_leases_held", 64), within=60, interval=0.005)
        with cpu.measuring(pids) as usage:
            started = time.perf_counter()
            await eventually(
                reached("boundbox_relay_published_total", EVENTS), within=600, interval=0.005
            )
            drain = EVENTS / (time.perf_counter() - started)
        result: dict[str, Any] = {
            "drain_events_per_s": drain,
            "drain_cpu_us_per_event": usage.per_event_us(EVENTS),
        }
        await queue.purge()
        if latency:
            result |= await latency_run(database, queue)
        stop.set()
        await relay
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
    finally:
        await connection.close()
        outbox.use_client(None)
    await client.drop_database(name)
    return result


async def latency_run(database: Any, queue: aio_pika.abc.AbstractQueue) -> dict[str, Any]:
    """Latency at LATENCY_RATE with the retention TTL index, then (diagnostic) without it."""
    received: dict[str, float] = {}

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        received[message.message_id or ""] = time.perf_counter()
        await message.ack()

    tag = await queue.consume(on_message)
    latencies = await steady_latencies(received)
    # Diagnostic: the dev database purges expired documents on every find of a collection
    # with a TTL index, scanning it; without the index, what is left is the relay's own.
    ttl = await retention_index(database["outbox"])
    if ttl is not None:
        await database["outbox"].drop_index(ttl[0])
    latencies_without_ttl = await steady_latencies(received)
    await queue.cancel(tag)
    return {
        "latency_samples": len(latencies),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "latency_max_ms": max(latencies),
        "latency_without_ttl_index_p50_ms": percentile(latencies_without_ttl, 50),
        "latency_without_ttl_index_p99_ms": percentile(latencies_without_ttl, 99),
    }


async def steady_latencies(received: dict[str, float]) -> list[float]:
    """Commit→delivery (ms) of one-event commands at LATENCY_RATE, paced, for LATENCY_SECONDS."""
    committed: dict[str, float] = {}
    interval = 1 / LATENCY_RATE
    began = time.perf_counter()
    for n in range(int(LATENCY_RATE * LATENCY_SECONDS)):
        pause = began + n * interval - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        event = await record_one(f"l-{n % 200}")
        committed[str(event.id)] = time.perf_counter()

    async def delivered() -> bool:
        return len(received.keys() & committed.keys()) == len(committed)

    await eventually(delivered, within=120)
    return [(received[i] - committed[i]) * 1000 for i in committed]


async def measure(url: str) -> dict[str, Any]:
    """ROUNDS rounds of (a), (b) and the drain side by side; latency after the last drain."""
    exchange_name = f"bench.relay.{uuid.uuid4().hex[:8]}"
    publish, by_key, drains, ratios, ceilings = [], [], [], [], []
    pids = {"relay": os.getpid(), "database": server_pid(url), "broker": server_pid(AMQP_URL)}
    async with AsyncMongoClient(url, uuidRepresentation="standard", tz_aware=True) as client:
        by_id = await raw_read_and_mark(client, object_id=True)
        for number in range(ROUNDS):
            publish.append(await raw_publish(exchange_name))
            by_key.append(await raw_read_and_mark(client, object_id=False))
            run = await relay_run(
                client, url, exchange_name, latency=number == ROUNDS - 1, pids=pids
            )
            drains.append(run["drain_events_per_s"])
            ratios.append(drains[-1] / min(publish[-1], by_key[-1]))
            cpu_us = run["drain_cpu_us_per_event"]
            if len(cpu_us) == len(pids):  # every process measured: the machine's ceiling
                ceilings.append(CORES / sum(cpu_us.values()) * 1e6)
    ceiling = median(ceilings) if ceilings else None
    return {
        "events": EVENTS,
        "rounds": ROUNDS,
        "raw_batch": BATCH,
        "raw_publish_per_s": median(publish),
        "raw_read_and_mark_per_s": median(by_key),
        "raw_read_and_mark_by_objectid_per_s": by_id,
        **run,
        "drain_events_per_s": median(drains),
        "drain_ratio": median(ratios),
        "drain_ratios": ratios,
        "cores": CORES,
        "cpu_ceiling_events_per_s": ceiling,
        "cpu_ceiling_ratio": None
        if ceiling is None
        else ceiling / min(median(publish), median(by_key)),
        "drain_of_cpu_ceiling": None if ceiling is None else median(drains) / ceiling,
        "target_ratio": TARGET_RATIO,
        "target_p99_ms": TARGET_P99_MS,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Takes no options but --help."""
    arguments("relay", __doc__).parse_args(argv)
    with mongodb() as url:
        result = runtime.run(measure(url))
    path = save("relay", result)
    print(
        f"relay: drain of {EVENTS} events, latency at {LATENCY_RATE:g}/s, raw ceilings beside "
        f"(medians of {ROUNDS} rounds)\n"
        f"  (a) raw publish, pipelined confirms : {result['raw_publish_per_s']:8.0f} msg/s\n"
        f"  (b) raw read-and-mark (by key)      : "
        f"{result['raw_read_and_mark_per_s']:8.0f} events/s\n"
        f"      raw read-and-mark (by ObjectId) : "
        f"{result['raw_read_and_mark_by_objectid_per_s']:8.0f} events/s (reference)\n"
        f"  relay drain                         : {result['drain_events_per_s']:8.0f} events/s\n"
        f"  drain / min(a, b), median of rounds  : {result['drain_ratio']:8.2f}  "
        f"(target >= {TARGET_RATIO}; rounds: "
        f"{', '.join(f'{r:.2f}' for r in result['drain_ratios'])})\n"
        f"  commit->delivery p50 / p99 / max    : {result['latency_p50_ms']:6.1f} / "
        f"{result['latency_p99_ms']:6.1f} / {result['latency_max_ms']:6.1f} ms "
        f"(target p99 <= {TARGET_P99_MS:g})\n"
        f"  same, TTL index dropped (diagnostic)  : "
        f"{result['latency_without_ttl_index_p50_ms']:6.1f} / "
        f"{result['latency_without_ttl_index_p99_ms']:6.1f} ms\n"
        f"{cpu_lines(result)}"
        f"  saved to {path}"
    )
    return result


def cpu_lines(result: dict[str, Any]) -> str:
    """Where the machine's CPU caps the drain, when every process could be measured."""
    used = result["drain_cpu_us_per_event"]
    if result["cpu_ceiling_events_per_s"] is None:
        return "  (CPU figures need the database and broker on this machine, and Linux)\n"
    return (
        f"  CPU per drained event (last round)  : "
        f"{', '.join(f'{name} {us:.0f}' for name, us in used.items())} us\n"
        f"  CPU-bound drain ceiling, {result['cores']} cores   : "
        f"{result['cpu_ceiling_events_per_s']:8.0f} events/s = "
        f"{result['cpu_ceiling_ratio']:.2f} x min(a, b); "
        f"the drain reaches {result['drain_of_cpu_ceiling']:.2f} of it\n"
    )


if __name__ == "__main__":
    main()
