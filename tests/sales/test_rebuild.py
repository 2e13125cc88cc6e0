"""`boundbox consume sales --rebuild` against the dev database (or MONGODB_URL) and RabbitMQ.

The truth is always `expected_figures` over every order event of the store: the projection's
own arithmetic on the whole history, from scratch.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import outbox
from services.sales.figures import Figures, stored_figures
from services.sales.projection import from_cents
from tests.consumer.conftest import Names
from tests.sales.conftest import SalesProcess, StartSales
from tests.sales.factories import order_history
from tests.sales.rebuilding import (
    place_orders,
    progress_of,
    relay,
    shop_env,
    spawn_rebuild,
    truth,
)
from tests.support.processes import eventually, free_port

PRODUCTS, CUSTOMERS = 25, 8


@pytest.fixture
async def shop(
    mongo_client: AsyncMongoClient[dict[str, Any]], database: AsyncDatabase[dict[str, Any]]
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """`outbox.record` writes this test's database, as the shop writes its own."""
    await init_beanie(database=database, document_models=outbox.DOCUMENT_MODELS)
    outbox.use_client(mongo_client)
    try:
        yield database
    finally:
        outbox.use_client(None)


async def reads_match(sales: SalesProcess, want: Figures) -> bool:
    """True when the read API shows, for every product and customer, the figures `want`."""
    for product_id, product in want.products.items():
        body = (await sales.http.get(f"/sales/products/{product_id}")).json()
        if body != {
            "product_id": product_id,
            "units_sold": product.units_sold,
            "revenue": from_cents(product.revenue_cents),
        }:
            return False
    for name, customer in want.customers.items():
        body = (await sales.http.get(f"/sales/customers/{name}")).json()
        if body != {
            "customer": name,
            "orders": customer.orders,
            "placed": customer.placed,
            "cancelled": customer.cancelled,
            "spent": from_cents(customer.spent_cents),
        }:
            return False
    return True


async def collections(database: AsyncDatabase[Any]) -> set[str]:
    return set(await database.list_collection_names())


@pytest.mark.timeout(300)  # a relay, a consumer and a rebuild on two shared cores
async def test_a_rebuild_under_live_traffic_switches_with_no_event_lost_or_doubled(
    start_sales: StartSales,
    names: Names,
    mongodb_url: str,
    shop: AsyncDatabase[dict[str, Any]],
) -> None:
    rng = random.Random(14)
    env = shop_env(mongodb_url, shop)
    history = order_history(300, rng=rng, products=PRODUCTS, customers=CUSTOMERS, status="pending")
    await shop["outbox"].insert_many(history)
    sales = await start_sales(MONGODB_DB=shop.name)
    with relay(env, names):
        want = await truth(shop)
        await eventually(functools.partial(reads_match, sales, want), within=120, interval=0.5)
        assert "sales_products" in await collections(shop)  # generation 0, no pointer

        rebuild = spawn_rebuild(env)
        rounds = 0
        while rebuild.poll() is None:
            await place_orders(
                rng, 4, prefix=f"live{rounds}-", products=PRODUCTS, customers=CUSTOMERS
            )
            want = await truth(shop)
            await eventually(functools.partial(reads_match, sales, want), within=30, interval=0.05)
            for _ in range(3):  # the live one is never wrong: nothing moves until the next round
                assert await reads_match(sales, want)
            rounds += 1
        out, err = rebuild.communicate(timeout=60)
        assert rebuild.returncode == 0, err
        assert rounds >= 1, "the rebuild ended before live traffic ran alongside it"
        assert out.startswith("rebuilt sales: generation 1 active (generation 0 dropped), ")
        assert "bulk [" in err

        await place_orders(rng, 6, prefix="after-", products=PRODUCTS, customers=CUSTOMERS)
        want = await truth(shop)
        await eventually(functools.partial(reads_match, sales, want), within=30, interval=0.05)

    assert await stored_figures(shop) == await truth(shop)
    events = await shop["outbox"].count_documents({})
    assert await shop["inbox_sales_g1"].count_documents({"consumer": "sales"}) == events
    pointer = await shop["projection_generations"].find_one({"_id": "sales"})
    assert pointer is not None and (pointer["active"], pointer["building"]) == (1, None)
    names_now = await collections(shop)
    assert {"sales_products_g1", "sales_customers_g1", "inbox_sales_g1"} <= names_now
    assert not {"sales_products", "sales_customers"} & names_now  # generation 0 dropped
    assert await shop["inbox"].count_documents({"consumer": "sales"}) == 0
    assert await sales.metric("boundbox_consumer_dead_lettered_total") == 0


async def test_a_rebuild_killed_halfway_resumes_and_equals_a_build_from_scratch(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> None:
    history = order_history(5000, rng=random.Random(7), products=300, customers=80)
    await database["outbox"].insert_many(history)
    env = shop_env(mongodb_url, database)

    doomed = spawn_rebuild(env)
    assert doomed.stderr is not None
    progress = None
    while progress is None or progress[0] < 0.4 * progress[1]:
        line = await asyncio.wait_for(asyncio.to_thread(doomed.stderr.readline), timeout=60)
        assert line, f"the rebuild ended before half: {doomed.wait()}"
        progress = progress_of(line) or progress
    doomed.kill()
    assert doomed.wait(timeout=30) == -9
    doomed.stderr.close()
    assert doomed.stdout is not None
    doomed.stdout.close()

    half = await database["inbox_sales_g1"].count_documents({})
    assert 0 < half < len(history)
    pointer = await database["projection_generations"].find_one({"_id": "sales"})
    assert pointer is not None and (pointer["active"], pointer["building"]) == (0, 1)

    again = spawn_rebuild(env)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert out.startswith(
        f"rebuilt sales: generation 1 active (generation 0 dropped), {len(history):,} events"
    )
    assert "resumed" in out
    assert await stored_figures(database) == await truth(database)
    assert await database["inbox_sales_g1"].count_documents({}) == len(history)


def test_rebuild_is_for_the_sales_consumer_only_and_fails_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "consume", "tail", "--rebuild"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "boundbox: --rebuild is for `consume sales` only\n"


def test_a_rebuild_without_mongodb_fails_in_one_line() -> None:
    env = {
        **os.environ,
        "MONGODB_URL": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "consume", "sales", "--rebuild"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("boundbox: rebuild: MongoDB: ")
    assert result.stderr.count("\n") == 1


async def test_reads_while_a_rebuild_switches_and_drops_are_never_missing_or_wrong(
    start_sales: StartSales, mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> None:
    await database["outbox"].insert_many(
        order_history(1500, rng=random.Random(3), products=PRODUCTS, customers=CUSTOMERS)
    )
    env = shop_env(mongodb_url, database)
    first = spawn_rebuild(env)  # generation 1: what the consumer serves
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    sales = await start_sales(MONGODB_DB=database.name)
    want = await truth(database)
    assert await reads_match(sales, want)

    second = spawn_rebuild(env)  # generation 2, switched to and generation 1 dropped
    reads = 0
    while second.poll() is None:
        assert await reads_match(sales, want)  # a 404 or another figure fails at once
        reads += 1
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.startswith("rebuilt sales: generation 2 active (generation 1 dropped), ")
    assert reads >= 2
    assert await reads_match(sales, want)
    assert not {"sales_products_g1", "inbox_sales_g1"} & await collections(database)
