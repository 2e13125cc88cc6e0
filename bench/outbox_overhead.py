"""The cost of never seeing a session: `@transactional()` + `record()` against explicit `session=`.

Both sides do the same three writes per unit of work (the aggregate's version counter, the
domain document, the outbox event) in one transaction. Each round times both, one right after
the other (in alternating order), so that machine noise hits both alike; the overhead is the
median over the rounds of the two times' ratio.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient, ReturnDocument

import outbox
from bench.support import arguments, median, mongodb, save
from outbox import OutboxEvent, OutboxStream
from outbox.events import partition_of

ROUNDS = 16
UNITS_PER_ROUND = 200
TARGET = 1.05


class Item(Document):
    name: str

    class Settings:
        name = "bench_items"


@outbox.transactional()
async def decorated(n: int) -> None:
    await Item(name=f"item-{n}").insert()
    await outbox.record(
        aggregate_type="item", aggregate_id=f"d-{n}", name="created", payload={"n": n}
    )


async def explicit(client: AsyncMongoClient[Any], n: int) -> None:
    async with client.start_session() as session:
        async with await session.start_transaction():
            aggregate_id = f"e-{n}"
            stream = await OutboxStream.get_pymongo_collection().find_one_and_update(
                {"_id": f"item:{aggregate_id}"},
                {"$inc": {"version": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            assert stream is not None
            await Item(name=f"item-{n}").insert(session=session)
            event = OutboxEvent(
                type="item.created",
                aggregate_type="item",
                aggregate_id=aggregate_id,
                aggregate_version=stream["version"],
                payload={"n": n},
                routing_key="item.created",
                partition=partition_of("item", aggregate_id),
            )
            await event.insert(session=session)


async def timed(units: Any) -> float:
    start = time.perf_counter()
    for n in range(UNITS_PER_ROUND):
        await units(n)
    return time.perf_counter() - start


async def measure(url: str) -> dict[str, Any]:
    async with AsyncMongoClient(url, uuidRepresentation="standard", tz_aware=True) as client:
        await client.drop_database("bench_outbox")
        await init_beanie(
            database=client["bench_outbox"], document_models=[Item, *outbox.DOCUMENT_MODELS]
        )
        outbox.use_client(client)
        offset = 0
        decorated_times, explicit_times = [], []
        await timed(lambda n: decorated(n - 10_000_000))  # warm-up of both paths
        await timed(lambda n: explicit(client, n - 10_000_000))
        for round_number in range(ROUNDS):
            # ABBA order: whichever side runs second in a round meets a slightly larger
            # collection, so the sides take turns at it.
            sides = [
                (decorated_times, lambda n, b=offset: decorated(b + n)),
                (explicit_times, lambda n, b=offset: explicit(client, b + n)),
            ]
            for times, units in sides if round_number % 2 == 0 else reversed(sides):
                times.append(await timed(units))
            offset += UNITS_PER_ROUND
        await client.drop_database("bench_outbox")
    ratio = median([d / e for d, e in zip(decorated_times, explicit_times, strict=True)])
    return {
        "units_per_round": UNITS_PER_ROUND,
        "rounds": ROUNDS,
        "decorated_units_per_s": UNITS_PER_ROUND / median(decorated_times),
        "explicit_units_per_s": UNITS_PER_ROUND / median(explicit_times),
        "overhead_ratio": ratio,
        "target_ratio": TARGET,
        "meets_target": ratio <= TARGET,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Takes no options but --help."""
    arguments("outbox", __doc__).parse_args(argv)
    with mongodb() as url:
        result = asyncio.run(measure(url))
    path = save("outbox-overhead", result)
    print(
        "outbox decorators vs explicit session= (same writes, alternating rounds)\n"
        f"  @transactional + record : {result['decorated_units_per_s']:8.1f} units/s\n"
        f"  explicit session=       : {result['explicit_units_per_s']:8.1f} units/s\n"
        f"  overhead ratio          : {result['overhead_ratio']:8.3f}  (target <= {TARGET}; "
        f"median of {ROUNDS} paired rounds)\n"
        f"  saved to {path}"
    )
    return result


if __name__ == "__main__":
    main()
