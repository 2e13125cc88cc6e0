"""Does the relay slow down as history grows? `python -m bench history [--history N ...]`.

The outbox keeps every published event (no retention by default), so the relay must find its
pending events without wading through history. In one run, on two dev databases started
alike (or two databases of MONGODB_URL's server):
- empty: an outbox with no history;
- full: an outbox already holding HISTORY published events (realistic documents, 5 versions
  per aggregate, inserted with insert_many in big batches).
Rounds alternate (empty, full, empty, full, ...). Each round inserts a pending backlog of new
aggregates (5 versions each, as `python -m bench relay`'s), starts a relay and times its drain
from the moment it holds every partition until every event is marked. Then, alternately again,
it times the query of `GET /{aggregate}/{id}/events` (`services.store.outbox.events_of`) for
the last drained aggregates (5 events each) of either outbox.
Prints the median drain rates, their ratio full / empty (goal >= 0.9) and the events_of times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import outbox
from bench import cpu
from bench.stack import peak_rss_mib
from bench.support import median, save
from boundbox import runtime
from boundbox.settings import Settings
from outbox.events import partition_of
from relay.main import serve
from relay.metrics import Metrics
from relay.store import OutboxStore
from services.store.outbox import events_of
from tests.support.processes import DevDbProcess, eventually, free_port

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
VERSIONS = 5  # events per aggregate, in history and in each backlog
INSERT_BATCH = 10_000
EVENTS_OF_CALLS = 200
TARGET_RATIO = 0.9
Database = AsyncDatabase[dict[str, Any]]


def event(aggregate_id: str, version: int, when: datetime, *, published: bool) -> dict[str, Any]:
    """An outbox document as `outbox.record()` writes it for an order event."""
    name = "placed" if version == 1 else "changed"
    n = int.from_bytes(aggregate_id.encode()[-4:])
    return {
        "_id": uuid.uuid4(),
        "type": f"order.{name}",
        "aggregate_type": "order",
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "occurred_at": when,
        "payload": {
            "order_id": aggregate_id,
            "customer_id": f"customer-{n % 5000}",
            "lines": [{"sku": f"SKU-{n % 300:04d}", "quantity": 1 + n % 3, "unit_price": "12.50"}],
            "total": "25.00",
            "status": name,
        },
        "headers": {
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "traceparent": None,
        },
        "routing_key": f"order.{name}",
        "partition": partition_of("order", aggregate_id),
        "status": "published" if published else "pending",
        "attempts": 0,
        "available_at": when,
        "last_error": None,
        "published_at": when + timedelta(milliseconds=40) if published else None,
    }


def history_aggregate(n: int) -> str:
    return f"h-{n:07d}"


def history(size: int) -> Iterator[list[dict[str, Any]]]:
    """`size` published events in batches, oldest first: aggregates of VERSIONS versions."""
    aggregates = max(1, size // VERSIONS)
    start = datetime.now(UTC) - timedelta(days=90)
    step = timedelta(days=89) / max(1, size)
    batch: list[dict[str, Any]] = []
    for n in range(size):
        version, aggregate = divmod(n, aggregates)
        batch.append(
            event(history_aggregate(aggregate), version + 1, start + n * step, published=True)
        )
        if len(batch) == INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def backlog(size: int, number: int) -> list[dict[str, Any]]:
    """Round `number`'s pending events: new aggregates of VERSIONS versions, interleaved by age
    (as `python -m bench relay`'s backlog, so the two drains compare)."""
    aggregates = max(1, size // VERSIONS)
    ids = [f"b{number}-{j}" for j in range(aggregates)]
    now = datetime.now(UTC)
    return [
        event(
            ids[n % aggregates],
            n // aggregates + 1,
            now + timedelta(microseconds=n),
            published=False,
        )
        for n in range(size)
    ]


@dataclass
class Side:
    """One outbox: `empty` or `full`, on its own server when the bench started the servers."""

    name: str
    client: AsyncMongoClient[dict[str, Any]]
    database: Database
    url: str
    pid: int | None
    drains: list[float]
    events_of_ms: list[float]
    cpu_us: list[dict[str, float]]
    """Per round: CPU microseconds per drained event of the relay and the database."""


async def fill(database: Database, size: int) -> float:
    """Inserts `size` published events, two batches in flight; returns events/s."""
    started = time.perf_counter()
    pending: set[asyncio.Task[Any]] = set()
    for batch in history(size):
        if len(pending) >= 2:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        pending.add(asyncio.create_task(database["outbox"].insert_many(batch, ordered=False)))
    for task in pending:
        await task
    return size / (time.perf_counter() - started)


async def drain(side: Side, exchange: str, size: int, number: int) -> list[str]:
    """Inserts round `number`'s backlog, starts a relay, returns once every event is marked;
    appends its events/s to `side.drains` and returns the ids of the drained aggregates."""
    documents = backlog(size, number)
    await side.database["outbox"].insert_many(documents, ordered=False)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        mongodb_url=side.url,
        mongodb_db=side.database.name,
        amqp_url=AMQP_URL,
        exchange_name=exchange,
        relay_id=f"bench-history-{side.name}",
        relay_port=free_port(),
    )
    metrics, stop = Metrics(), asyncio.Event()
    relay = asyncio.create_task(serve(settings, stop, metrics=metrics))

    def sample(name: str) -> float:
        return metrics.registry.get_sample_value(name) or 0.0

    async def leased() -> bool:
        return sample("boundbox_relay_leases_held") >= 64

    async def drained() -> bool:
        return sample("boundbox_relay_published_total") >= size

    try:
        await eventually(leased, within=120, interval=0.005)
        with cpu.measuring({"relay": os.getpid(), "database": side.pid}) as usage:
            started = time.perf_counter()
            await eventually(drained, within=600, interval=0.005)
            side.drains.append(size / (time.perf_counter() - started))
        side.cpu_us.append(usage.per_event_us(size))
    finally:
        stop.set()
        await relay
    left = await side.database["outbox"].count_documents({"status": "pending"})
    assert left == 0, f"{left} events still pending after the drain"
    return sorted({str(document["aggregate_id"]) for document in documents})


async def time_events_of(side: Side, aggregate_ids: list[str]) -> None:
    """Median ms of `events_of` (the API's history route) over aggregates of VERSIONS events."""
    await init_beanie(database=side.database, document_models=outbox.DOCUMENT_MODELS)
    times = []
    for aggregate_id in random.Random(7).choices(aggregate_ids, k=EVENTS_OF_CALLS):
        started = time.perf_counter()
        found = await events_of("order", aggregate_id)
        times.append((time.perf_counter() - started) * 1000)
        assert [e.aggregate_version for e in found] == list(range(1, VERSIONS + 1))
    side.events_of_ms.append(median(times))


@contextlib.asynccontextmanager
async def sides(history_size: int) -> AsyncIterator[tuple[Side, Side, float]]:
    """The empty and the full outbox (the full one filled), and the fill rate."""
    async with contextlib.AsyncExitStack() as stack:
        made: list[Side] = []
        shared = os.environ.get("MONGODB_URL")
        for name in ("empty", "full"):
            url, pid = shared, None
            if url is None:
                server = DevDbProcess().start()
                stack.callback(server.stop)
                url, pid = server.url, server.process.pid if server.process else None
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                url, uuidRepresentation="standard", tz_aware=True
            )
            stack.push_async_callback(client.close)
            database = client[f"bench_history_{name}"]
            await client.drop_database(database.name)
            stack.push_async_callback(client.drop_database, database.name)
            await OutboxStore(database).prepare()  # the relay's indexes, kept up as we insert
            made.append(Side(name, client, database, url, pid, [], [], []))
        rate = await fill(made[1].database, history_size)
        yield made[0], made[1], rate


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    exchange = f"bench.history.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(
        AMQP_URL, client_properties={"connection_name": "bench history consumer"}
    )
    try:
        channel = await connection.channel()
        topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"{exchange}.all", durable=True)
        await queue.bind(topic, "#")  # every event routable: none is parked
        try:
            async with sides(args.history) as (empty, full, fill_rate):
                drained: dict[str, list[str]] = {}
                for number in range(args.rounds):
                    for side in (empty, full):
                        drained[side.name] = await drain(
                            side, exchange, args.backlog, 2 * number + (side is full)
                        )
                        await queue.purge()
                        if side is empty and number < args.rounds - 1:  # no history kept
                            await side.database["outbox"].delete_many({"status": "published"})
                for _ in range(args.rounds):  # alternated too: the machine's load varies
                    for side in (empty, full):
                        await time_events_of(side, drained[side.name])
                full_size = await full.database["outbox"].estimated_document_count()
                rss = {s.name: peak_rss_mib(s.pid) for s in (empty, full) if s.pid is not None}
                return result(args, empty, full, fill_rate, full_size, rss)
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await topic.delete()
    finally:
        await connection.close()


def result(
    args: argparse.Namespace,
    empty: Side,
    full: Side,
    fill_rate: float,
    full_size: int,
    rss: dict[str, float],
) -> dict[str, Any]:
    pairs = [f / e for e, f in zip(empty.drains, full.drains, strict=True)]
    return {
        "history": args.history,
        "backlog": args.backlog,
        "rounds": args.rounds,
        "history_insert_per_s": fill_rate,
        "full_outbox_documents_at_end": full_size,
        "drain_empty_per_s": median(empty.drains),
        "drain_full_per_s": median(full.drains),
        "drain_ratio": median(full.drains) / median(empty.drains),
        "drain_ratios_by_round": pairs,
        "drain_ratio_median_of_rounds": median(pairs),
        "drains_empty": empty.drains,
        "drains_full": full.drains,
        "cpu_us_per_event_empty": cpu_medians(empty),
        "cpu_us_per_event_full": cpu_medians(full),
        "cpu_ratio": cpu_total(full) / cpu_total(empty) if cpu_total(empty) else None,
        "events_of_empty_ms": median(empty.events_of_ms),
        "events_of_full_ms": median(full.events_of_ms),
        "events_of_ratio": median(full.events_of_ms) / median(empty.events_of_ms),
        "devdb_peak_rss_mib": rss,
        "target_ratio": TARGET_RATIO,
    }


def cpu_medians(side: Side) -> dict[str, float]:
    """Median CPU microseconds per drained event, per process measured in every round."""
    names = set.intersection(*(set(round_) for round_ in side.cpu_us)) if side.cpu_us else set()
    return {name: median([round_[name] for round_ in side.cpu_us]) for name in sorted(names)}


def cpu_total(side: Side) -> float:
    return sum(cpu_medians(side).values())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench history",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="The relay's drain with an empty outbox and with a long published history.",
    )
    parser.add_argument(
        "--history", type=int, default=1_000_000, help="published events already in the full outbox"
    )
    parser.add_argument("--backlog", type=int, default=10_000, help="pending events per drain")
    parser.add_argument("--rounds", type=int, default=5, help="drains of each outbox, alternated")
    args = parser.parse_args(argv)
    if args.history < 0 or args.backlog < 2 * VERSIONS or args.rounds < 1:
        parser.error("--history >= 0, --backlog >= 10 and --rounds >= 1")
    outcome = runtime.run(measure(args))
    path = save("history", outcome)
    print(
        f"history: relay drain of {args.backlog} pending events, empty outbox vs "
        f"{args.history:,} published events (medians of {args.rounds} alternated rounds)\n"
        f"  history inserted at                 : {outcome['history_insert_per_s']:8.0f} events/s\n"
        f"  drain, empty history                : {outcome['drain_empty_per_s']:8.0f} events/s\n"
        f"  drain, full history                 : {outcome['drain_full_per_s']:8.0f} events/s\n"
        f"  full / empty                        : {outcome['drain_ratio']:8.2f}  "
        f"(target >= {TARGET_RATIO}; rounds: "
        f"{', '.join(f'{r:.2f}' for r in outcome['drain_ratios_by_round'])}, "
        f"their median {outcome['drain_ratio_median_of_rounds']:.2f})\n"
        f"{cpu_line(outcome)}"
        f"  events_of, 5 events, empty / full   : {outcome['events_of_empty_ms']:6.2f} / "
        f"{outcome['events_of_full_ms']:6.2f} ms (ratio {outcome['events_of_ratio']:.2f})\n"
        f"  dev database peak RSS               : "
        f"{', '.join(f'{k} {v:.0f} MiB' for k, v in outcome['devdb_peak_rss_mib'].items())}\n"
        f"  saved to {path}"
    )
    return outcome


def cpu_line(outcome: dict[str, Any]) -> str:
    """CPU per drained event, which the machine's other load disturbs less than rates."""
    empty, full = outcome["cpu_us_per_event_empty"], outcome["cpu_us_per_event_full"]
    if outcome["cpu_ratio"] is None:
        return ""
    parts = ", ".join(f"{name} {empty[name]:.0f} / {full[name]:.0f}" for name in empty)
    return (
        f"  CPU per event, empty / full (us)    : {parts}; "
        f"together full / empty {outcome['cpu_ratio']:.2f}\n"
    )


if __name__ == "__main__":
    main()
