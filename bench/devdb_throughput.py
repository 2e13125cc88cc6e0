"""What the dev database sustains: bulk inserts, a read-and-mark drain, and transactions.

Always runs against a fresh in-memory `boundbox devdb` (it measures the dev database, not
MONGODB_URL). The figures in the README's dev database section come from this script.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from bench.support import arguments, save
from tests.support.processes import DevDbProcess

DOCS = 20_000
BATCH = 500
TRANSACTIONS = 1_000
CONCURRENCY = 50
SIZES = (1_000, 100_000)
PROBES = 1_000
ROUNDS = 5


async def measure(url: str) -> dict[str, float]:
    async with AsyncMongoClient(url) as client:
        items = client["bench_devdb"]["items"]
        await items.create_index([("status", 1), ("n", 1)])
        start = time.perf_counter()
        for base in range(0, DOCS, 1000):
            await items.insert_many([{"n": base + i, "status": "pending"} for i in range(1000)])
        inserted = DOCS / (time.perf_counter() - start)

        start = time.perf_counter()
        while batch := await items.find({"status": "pending"}).sort("n").limit(BATCH).to_list():
            ids = [doc["_id"] for doc in batch]
            await items.update_many({"_id": {"$in": ids}}, {"$set": {"status": "published"}})
        drained = DOCS / (time.perf_counter() - start)

        async def transaction(n: int) -> None:
            async with client.start_session() as session:
                async with await session.start_transaction():
                    await items.insert_one({"txn": n}, session=session)
                    await items.update_one(
                        {"_id": "counter"}, {"$inc": {"n": 1}}, upsert=True, session=session
                    )

        start = time.perf_counter()
        for n in range(TRANSACTIONS):
            await transaction(n)
        sequential = TRANSACTIONS / (time.perf_counter() - start)

        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def limited(n: int) -> None:
            async with semaphore:
                await retrying(transaction, n)

        start = time.perf_counter()
        await asyncio.gather(*(limited(n) for n in range(TRANSACTIONS)))
        concurrent = TRANSACTIONS / (time.perf_counter() - start)
        await client.drop_database("bench_devdb")
        single = await single_document_rates(client["bench_devdb"]["grow"])
        await client.drop_database("bench_devdb")
    return single | {
        "insert_many_docs_per_s": inserted,
        "find_and_mark_docs_per_s": drained,
        "sequential_transactions_per_s": sequential,
        "concurrent_transactions_per_s": concurrent,
    }


async def single_document_rates(collection: Any) -> dict[str, float]:
    """insert_one and indexed find_one, one at a time, with 1,000 and 100,000 documents stored
    (medians of ROUNDS rounds of PROBES calls)."""
    await collection.create_index("k")
    rates: dict[str, float] = {}
    stored = 0
    for size in SIZES:
        while stored < size - PROBES:
            n = min(5_000, size - PROBES - stored)
            await collection.insert_many([{"k": stored + i, "pad": "x" * 100} for i in range(n)])
            stored += n
        inserts, finds = [], []
        for round_ in range(ROUNDS):  # the median of a few rounds: one round is noisy
            if round_:  # the collection is back to its size for every round
                await collection.delete_many({"k": {"$gte": stored}})
            start = time.perf_counter()
            for i in range(PROBES):
                await collection.insert_one({"k": stored + i, "pad": "x" * 100})
            inserts.append(PROBES / (time.perf_counter() - start))
        stored += PROBES
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for i in range(PROBES):
                await collection.find_one({"k": (i * 7919) % stored})
            finds.append(PROBES / (time.perf_counter() - start))
        rates[f"insert_one_per_s_at_{size}"] = statistics.median(inserts)
        rates[f"find_one_per_s_at_{size}"] = statistics.median(finds)
    small, large = SIZES
    rates["insert_one_ratio"] = (
        rates[f"insert_one_per_s_at_{large}"] / rates[f"insert_one_per_s_at_{small}"]
    )
    rates["find_one_ratio"] = (
        rates[f"find_one_per_s_at_{large}"] / rates[f"find_one_per_s_at_{small}"]
    )
    return rates


async def retrying(fn: Any, n: int) -> None:
    """Retries write conflicts with jittered backoff, as `@transactional` does.

    Every transaction here increments one counter: as on MongoDB, a transaction that wrote
    it conflicts with every other that began before it committed.
    """
    for attempt in itertools.count():
        try:
            await fn(n)
            return
        except PyMongoError as e:
            if not e.has_error_label("TransientTransactionError"):
                raise
            await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Takes no options but --help."""
    arguments("devdb", __doc__).parse_args(argv)
    devdb = DevDbProcess().start()
    try:
        result: dict[str, Any] = asyncio.run(measure(devdb.url))
    finally:
        devdb.stop()
    result |= {"docs": DOCS, "transactions": TRANSACTIONS, "concurrency": CONCURRENCY}
    path = save("devdb-throughput", result)
    print(
        f"dev database ({DOCS:,} docs, {TRANSACTIONS:,} two-write transactions)\n"
        f"  insert_many                 : {result['insert_many_docs_per_s']:9,.0f} docs/s\n"
        f"  find + update_many drain    : {result['find_and_mark_docs_per_s']:9,.0f} docs/s\n"
        f"  transactions, one at a time : {result['sequential_transactions_per_s']:9,.0f} /s\n"
        f"  transactions, {CONCURRENCY} at once    : "
        f"{result['concurrent_transactions_per_s']:9,.0f} /s\n"
        f"  insert_one at {SIZES[0]:,} / {SIZES[1]:,} docs : "
        f"{result[f'insert_one_per_s_at_{SIZES[0]}']:,.0f} / "
        f"{result[f'insert_one_per_s_at_{SIZES[1]}']:,.0f} /s "
        f"(ratio {result['insert_one_ratio']:.2f})\n"
        f"  find_one at {SIZES[0]:,} / {SIZES[1]:,} docs   : "
        f"{result[f'find_one_per_s_at_{SIZES[0]}']:,.0f} / "
        f"{result[f'find_one_per_s_at_{SIZES[1]}']:,.0f} /s "
        f"(ratio {result['find_one_ratio']:.2f})\n"
        f"  saved to {path}"
    )
    return result


if __name__ == "__main__":
    main()
