"""How fast a projection is rebuilt: `python -m bench rebuild [--events N] [--rounds R]`.

An event store of N order events (100,000 by default: orders placed across 2,000 products
and 5,000 customers over the last 30 days, 30% of them cancelled later) is inserted into the
outbox directly. Each round rebuilds the sales projection from it (as `boundbox consume sales
--rebuild` does: a new generation, the switch, the old one dropped) and, right before, reads
the same events in the same order with a bare cursor: the rebuild's rate is reported against
that read in the same round (the machine is shared: only the ratio travels).
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from bench.support import arguments, median, mongodb, save
from boundbox.settings import Settings
from outbox.consumer import Progress, replay
from services.sales.figures import expected_figures, stored_figures
from services.sales.handlers import handlers
from services.sales.rebuild import CHUNK_SIZE, rebuild
from tests.sales.factories import order_history

SHOP, SALES = "bench_rebuild_shop", "bench_rebuild_sales"
CANCEL_SHARE = 0.3


async def insert_history(client: AsyncMongoClient[Any], events: int) -> list[dict[str, Any]]:
    orders = round(events / (1 + CANCEL_SHARE))
    start = datetime.now(UTC) - timedelta(days=30)
    history = order_history(
        orders, rng=random.Random(14), products=2_000, customers=5_000, start=start
    )
    outbox = client[SHOP]["outbox"]
    for offset in range(0, len(history), 5_000):
        await outbox.insert_many(history[offset : offset + 5_000])
    return history


async def raw_read(client: AsyncMongoClient[Any]) -> float:
    """Seconds to read every order event in per-aggregate version order, and nothing else."""
    started = time.perf_counter()
    async for _ in replay.chunks(client[SHOP]["outbox"], handlers.types):
        pass
    return time.perf_counter() - started


async def measure(url: str, events: int, rounds: int, chunk: int) -> dict[str, Any]:
    settings = Settings(mongodb_url=url, mongodb_db=SHOP, sales_db=SALES)
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        url, uuidRepresentation="standard", tz_aware=True
    )
    async with client:
        for name in (SHOP, SALES):
            await client.drop_database(name)
        history = await insert_history(client, events)
        reads, rebuilds = [], []
        for _ in range(rounds):
            reads.append(await raw_read(client))
            summary = await rebuild(
                settings, client, progress=Progress(io.StringIO()), chunk_size=chunk
            )
            rebuilds.append(summary.seconds)
            print(
                f"  round: rebuild {summary.seconds:.1f} s, raw read {reads[-1]:.1f} s", flush=True
            )
        correct = await stored_figures(client[SALES]) == expected_figures(history)
        for name in (SHOP, SALES):
            await client.drop_database(name)
    count = len(history)
    return {
        "events": count,
        "rounds": rounds,
        "chunk": chunk,
        "rebuild_seconds": median(rebuilds),
        "rebuild_events_per_s": count / median(rebuilds),
        "raw_read_events_per_s": count / median(reads),
        "rebuild_over_raw_read": median([r / b for r, b in zip(reads, rebuilds, strict=True)]),
        "figures_equal_from_scratch": correct,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = arguments("rebuild", __doc__)
    parser.add_argument("--events", type=int, default=100_000, help="history size (events)")
    parser.add_argument("--rounds", type=int, default=2, help="rebuilds, one after the other")
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE, help="events per transaction")
    options = parser.parse_args(argv or [])
    with mongodb() as url:
        result = asyncio.run(measure(url, options.events, options.rounds, options.chunk))
    path = save("rebuild", result)
    print(
        f"rebuild of the sales projection from {result['events']:,} stored events\n"
        f"  rebuild           : {result['rebuild_seconds']:8.1f} s, "
        f"{result['rebuild_events_per_s']:8,.0f} events/s (median of {result['rounds']})\n"
        f"  raw ordered read  : {result['raw_read_events_per_s']:8,.0f} events/s\n"
        f"  rebuild / read    : {result['rebuild_over_raw_read']:8.2f}\n"
        f"  equals from scratch: {result['figures_equal_from_scratch']}\n"
        f"  saved to {path}"
    )
    return result


if __name__ == "__main__":
    main()
