"""The whole stack under load: `python -m bench e2e [--rate R --concurrency C --duration S]`.

Starts the dev database, the API, the relay and the sales consumer as separate processes,
drives `POST /orders` at a fixed rate (open loop, capped concurrency) and measures:
commands/s accepted; API latency; commit→publish (a subscriber's receipt of the event against
its `occurred_at`) and commit→consume (the consumer's inbox entry against the same); the relay's
drain of a backlog; peak RSS of every process; and, in the same run, the ratios the outbox and
relay issues ask for. Results: a table on stdout, JSON and a PNG plot under bench/results/.

A warm-up at the same rate comes first and is not measured (pools, caches, first pages). The
plot shades the load generator's own garbage-collection pauses: a pause of this process delays
its clock readings of API latency and of commit→publish alike (a spike in both at once), while
commit→consume is timed by the consumer (its inbox entry), so a spike it lacks is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from bench.stack import Stack
from bench.support import RESULTS, arguments, percentile, save
from tests.support.auth import admin_headers

PRODUCTS = 20
PAUSE_SHOWN = 0.01  # seconds: the load generator's GC pauses the plot shades


@dataclass
class Tap:
    """A subscriber to every event: when each arrived, and when it occurred."""

    exchange: str
    arrivals: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> (occurred, got)

    async def start(self, amqp_url: str) -> None:
        self._connection = await aio_pika.connect_robust(
            amqp_url, client_properties={"connection_name": f"bench-tap-{self.exchange}"}
        )
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, "#")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        got = time.time()
        envelope = json.loads(message.body)
        occurred = datetime.fromisoformat(envelope["occurred_at"]).timestamp()
        self.arrivals.setdefault(envelope["id"], (occurred, got))

    async def close(self) -> None:
        await self._connection.close()


@dataclass
class GcPauses:
    """This process's garbage collections (start, seconds, generation) while installed."""

    pauses: list[tuple[float, float, int]] = field(default_factory=list)
    _began: float = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.monotonic()
        else:
            took = time.monotonic() - self._began
            self.pauses.append((self._began, took, int(info["generation"])))


@dataclass
class Load:
    started: float = 0.0  # time.monotonic() of the first request
    finished: float = 0.0  # time.monotonic() of the last response
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (t since start, s)
    statuses: dict[int, int] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)


async def seed(http: httpx.AsyncClient) -> list[str]:
    category = (await http.post("/categories", json={"name": "Bench"})).json()["id"]
    products = []
    for n in range(PRODUCTS):
        response = await http.post(
            "/products",
            json={
                "name": f"P{n}",
                "price": f"{n + 1}.50",
                "category_id": category,
                "stock": 1_000_000_000,
            },
        )
        response.raise_for_status()
        products.append(response.json()["id"])
    return products


async def drive(
    http: httpx.AsyncClient,
    products: list[str],
    *,
    rate: float,
    concurrency: int,
    duration: float,
    rng: random.Random,
    label: str,
) -> Load:
    load = Load()
    slots = asyncio.Semaphore(concurrency)
    start = load.started = time.monotonic()

    async def one(n: int) -> None:
        async with slots:
            items = [
                {"product_id": p, "quantity": rng.randint(1, 3)}
                for p in rng.sample(products, rng.randint(1, 3))
            ]
            sent = time.monotonic()
            response = await http.post(
                "/orders",
                json={"customer": f"c{n % 50}", "items": items},
                headers={"Idempotency-Key": f"{label}-{n}"},
            )
            load.latencies.append((sent - start, time.monotonic() - sent))
            load.statuses[response.status_code] = load.statuses.get(response.status_code, 0) + 1
            if response.status_code == 201:
                load.order_ids.append(response.json()["id"])

    tasks: list[asyncio.Task[None]] = []
    total = int(rate * duration)
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(n)))
        if n % max(1, int(rate / 2)) == 0:
            progress(label, n / total, time.monotonic() - start, load)
    await asyncio.gather(*tasks)
    load.finished = time.monotonic()
    progress(label, 1.0, load.finished - start, load)
    print(file=sys.stderr)
    return load


def progress(label: str, done: float, elapsed: float, load: Load) -> None:
    bar = "#" * int(done * 30)
    ok = load.statuses.get(201, 0)
    print(
        f"\r  {label:8} [{bar:<30}] {done:4.0%} {elapsed:5.1f}s  accepted {ok}",
        end="",
        file=sys.stderr,
        flush=True,
    )


async def wait_for(check: Any, within: float, what: str) -> None:
    """Polls `check` (returning a bool, or an awaitable of one) until true or `within` passes."""
    deadline = time.monotonic() + within
    while not await _truth(check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    stack = Stack(log_path=RESULTS / "e2e-processes.log")
    RESULTS.mkdir(exist_ok=True)
    stack.start()
    env = stack.env
    tap = Tap(exchange=env["EXCHANGE_NAME"])
    try:
        await tap.start(env.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
        async with (
            httpx.AsyncClient(base_url=stack.api_url, timeout=30, headers=admin_headers()) as http,
            AsyncMongoClient(
                env["MONGODB_URL"], tz_aware=True, uuidRepresentation="standard"
            ) as mongo,
        ):
            products = await seed(http)
            await drive(
                http,
                products,
                rate=args.rate,
                concurrency=args.concurrency,
                duration=args.warmup,
                rng=rng,
                label="warm-up",
            )
            # What the warm-up left is frozen: the steady phase's collections walk only new
            # objects (the same as the dev database does, devdb/heap.py).
            gc.collect()
            gc.freeze()
            with GcPauses() as collections:
                load = await drive(
                    http,
                    products,
                    rate=args.rate,
                    concurrency=args.concurrency,
                    duration=args.duration,
                    rng=rng,
                    label="steady",
                )
            placed = await placed_events(mongo, env["MONGODB_DB"], load.order_ids)
            await wait_for(
                lambda: all(i in tap.arrivals for i in placed),
                60,
                "every order.placed event at the subscriber",
            )
            inbox = mongo[env["SALES_DB"]]["inbox"]
            await wait_for(
                lambda: _count(inbox, {"message_id": {"$in": list(placed)}}, len(placed)),
                60,
                "the consumer to apply every order.placed event",
            )
            consumed = {
                e["message_id"]: e["received_at"].timestamp()
                async for e in inbox.find({"message_id": {"$in": list(placed)}})
            }
            drain = await measure_drain(stack, http, products, mongo, tap, args, rng)
            rss = stack.peak_rss()
    finally:
        await tap.close()
        stack.stop()
        await stack.delete_broker_objects()

    publish = [tap.arrivals[i][1] - placed[i] for i in placed]
    consume = [consumed[i] - placed[i] for i in placed]
    api = [latency for _, latency in load.latencies]
    first = min(placed.values())
    return {
        "rate": args.rate,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "seed": args.seed,
        "statuses": load.statuses,
        # Accepted per second of the time the orders really took: past saturation the last
        # answers come long after the planned duration, and the offered rate says nothing.
        "offered_per_s": args.rate,
        "commands_per_s": load.statuses.get(201, 0) / (load.finished - load.started),
        "took_s": load.finished - load.started,
        "api_latency_ms": _percentiles(api),
        "commit_to_publish_ms": _percentiles(publish),
        "commit_to_consume_ms": _percentiles(consume),
        "relay_drain_events_per_s": drain,
        "peak_rss_mib": rss,
        "series": {
            "api": load.latencies,
            "publish": sorted(
                (placed[i] - first, latency) for i, latency in zip(placed, publish, strict=True)
            ),
            "consume": sorted(
                (placed[i] - first, latency) for i, latency in zip(placed, consume, strict=True)
            ),
        },
        # (seconds into the steady phase, seconds paused, generation) of the load generator.
        "generator_gc_pauses": [
            (began - load.started, took, generation)
            for began, took, generation in collections.pauses
        ],
    }


async def _truth(value: Any) -> bool:
    return bool(await value) if inspect.isawaitable(value) else bool(value)


async def _count(collection: Any, query: dict[str, Any], expected: int) -> bool:
    return bool(await collection.count_documents(query) >= expected)


async def placed_events(mongo: Any, db: str, order_ids: list[str]) -> dict[str, float]:
    """The id and occurred_at of the order.placed event of each order."""
    cursor = mongo[db]["outbox"].find(
        {"type": "order.placed", "aggregate_id": {"$in": order_ids}},
        {"_id": 1, "occurred_at": 1},
    )
    return {_event_id(e["_id"]): e["occurred_at"].timestamp() async for e in cursor}


async def order_events(mongo: Any, db: str, order_ids: list[str]) -> set[str]:
    """The ids of every event those orders recorded: each `order.placed` and its products'
    `product.stock_reserved` (one per product of the order)."""
    cursor = mongo[db]["outbox"].find(
        {
            "$or": [
                {"type": "order.placed", "aggregate_id": {"$in": order_ids}},
                {"type": "product.stock_reserved", "payload.order_id": {"$in": order_ids}},
            ]
        },
        {"_id": 1},
    )
    return {_event_id(e["_id"]) async for e in cursor}


def _event_id(value: Any) -> str:
    """The event id as the envelope spells it (the dev database returns UUIDs as bytes)."""
    if isinstance(value, bytes):
        return str(uuid.UUID(bytes=bytes(value)))
    return str(value)


async def measure_drain(
    stack: Stack,
    http: httpx.AsyncClient,
    products: list[str],
    mongo: Any,
    tap: Tap,
    args: argparse.Namespace,
    rng: random.Random,
) -> float:
    """Stops the relay, builds a backlog through the API, restarts it: events/s to drain it
    (every event of the backlog's orders, theirs and their products')."""
    relay = stack.services["relay"]
    relay.stop()
    load = await drive(
        http,
        products,
        rate=10_000,
        concurrency=args.concurrency,
        duration=args.backlog / 10_000,
        rng=rng,
        label="backlog",
    )
    backlog = await order_events(mongo, stack.env["MONGODB_DB"], load.order_ids)
    relay.start(stack.env, stack._log, stack.source)
    await wait_for(
        lambda: all(i in tap.arrivals for i in backlog), 300, "the relay to drain the backlog"
    )
    # From the first event's arrival to the last's: the relay's start-up is not drain time.
    arrivals = sorted(tap.arrivals[i][1] for i in backlog)
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


def _percentiles(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "n": len(ms),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5))
    for name, label in (
        ("api", "API latency (POST /orders)"),
        ("publish", "commit → publish"),
        ("consume", "commit → consume (timed by the consumer)"),
    ):
        series = result["series"][name]
        axes.scatter([t for t, _ in series], [v * 1000 for _, v in series], s=4, label=label)
    shown = [p for p in result["generator_gc_pauses"] if p[1] >= PAUSE_SHOWN]
    for n, (began, took, _) in enumerate(shown):
        axes.axvspan(
            began,
            began + max(took, 0.05),
            color="grey",
            alpha=0.3,
            label=f"load generator GC pause ≥ {PAUSE_SHOWN * 1000:.0f} ms" if n == 0 else None,
        )
    axes.set_xlabel(f"seconds into the steady load (after a {result['warmup_s']:g} s warm-up)")
    axes.set_ylabel("latency (ms)")
    axes.set_yscale("log")
    axes.set_title(f"boundbox at {result['rate']:g} orders/s, concurrency {result['concurrency']}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def table(result: dict[str, Any]) -> str:
    def row(name: str, p: dict[str, float]) -> str:
        return f"  {name:26} p50 {p['p50']:7.1f}  p95 {p['p95']:7.1f}  p99 {p['p99']:7.1f} ms"

    rss = ", ".join(f"{k} {v:.0f}" for k, v in result["peak_rss_mib"].items())
    pauses = [took for _, took, _ in result["generator_gc_pauses"] if took >= PAUSE_SHOWN]
    return "\n".join(
        [
            f"boundbox end to end: {result['rate']:g} orders/s offered, concurrency "
            f"{result['concurrency']}, {result['duration_s']:g}s",
            f"  commands accepted          {result['commands_per_s']:7.1f} /s   offered "
            f"{result['offered_per_s']:g} /s; {sum(result['statuses'].values())} requests in "
            f"{result['took_s']:.1f} s, statuses {result['statuses']}",
            row("API latency", result["api_latency_ms"]),
            row("commit → publish", result["commit_to_publish_ms"]),
            row("commit → consume", result["commit_to_consume_ms"]),
            f"  relay drain                {result['relay_drain_events_per_s']:7.1f} events/s",
            f"  load generator GC pauses   {len(pauses):7d} ≥ {PAUSE_SHOWN * 1000:.0f} ms"
            + (f", longest {max(pauses) * 1000:.0f} ms (shaded on the plot)" if pauses else ""),
            f"  peak RSS (MiB)             {rss}",
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = arguments("e2e", __doc__)
    parser.add_argument("--rate", type=float, default=50, help="orders offered per second")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, at most")
    parser.add_argument("--duration", type=float, default=20, help="seconds of steady load")
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of the same load before, not measured"
    )
    parser.add_argument("--backlog", type=int, default=2000, help="orders in the drain backlog")
    parser.add_argument("--seed", type=int, default=7, help="seed of the orders' random items")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    path = save("e2e", result)
    png = path.with_suffix(".png")
    plot(result, png)
    print(table(result))
    print(f"  saved {path} and {png}")
    return result


if __name__ == "__main__":
    main()
