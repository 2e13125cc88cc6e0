"""`boundbox audit` as an operator runs it: exit status, lines, JSON, progress, and one line
when it cannot read."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.sales.documents import CUSTOMERS, PRODUCTS
from tests.services import factories
from tests.support.audit import audit
from tests.support.processes import free_port


def env_of(mongodb_url: str, database: AsyncDatabase[dict[str, Any]]) -> dict[str, str]:
    return {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": database.name,
        "ARCHIVE_QUEUE": "",
        "LOG_LEVEL": "WARNING",
    }


async def test_exit_0_with_a_summary_when_state_is_events(
    client: httpx.AsyncClient, database: AsyncDatabase[dict[str, Any]], mongodb_url: str
) -> None:
    mug = await factories.product(client)
    await factories.order(client, (mug["id"], 2))

    code, out, err = await audit(env_of(mongodb_url, database), "--no-sales")

    assert code == 0, out + err
    assert out == "audit: state = events (1 categories, 4 events, 1 orders, 1 products)\n"
    assert "audit [" in err and "100%" in err  # the progress bar, on stderr


async def test_exit_1_with_one_line_per_mismatch_and_json_for_machines(
    client: httpx.AsyncClient, database: AsyncDatabase[dict[str, Any]], mongodb_url: str
) -> None:
    mug = await factories.product(client, price="2.50")
    await database["products"].update_one({"_id": ObjectId(mug["id"])}, {"$set": {"price": "9.99"}})
    env = env_of(mongodb_url, database)

    code, out, _ = await audit(env, "--no-sales")
    json_code, json_out, _ = await audit(env, "--no-sales", "--json")

    assert code == json_code == 1
    assert out.splitlines() == [
        f"product {mug['id']}: price: stored '9.99', from events '2.50'",
        "audit: 1 mismatch (1 categories, 2 events, 1 products)",
    ]
    assert json.loads(json_out)["mismatches"] == [
        {
            "subject": f"product {mug['id']}",
            "field": "price",
            "stored": "9.99",
            "from_events": "2.50",
        }
    ]


async def test_an_unreachable_database_is_one_line_and_exit_2(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    nowhere = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500"

    code, out, err = await audit(env_of(nowhere, database))

    assert code == 2
    assert out == ""
    [line] = [line for line in err.splitlines() if line.startswith("boundbox:")]
    assert line.startswith("boundbox: audit: cannot read MongoDB: ")
    assert "Traceback" not in err


async def test_a_stored_projection_off_by_one_is_its_line(
    client: httpx.AsyncClient,
    database: AsyncDatabase[dict[str, Any]],
    mongodb_url: str,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    mug = await factories.product(client, price="2.50")
    await factories.order(client, (mug["id"], 2), customer="ada")
    sales = mongo_client[f"{database.name}_sales"]
    await sales[PRODUCTS].insert_one({"_id": mug["id"], "units_sold": 3, "revenue_cents": 500})
    await sales[CUSTOMERS].insert_one(
        {"_id": "ada", "orders": 1, "placed": 1, "cancelled": 0, "spent_cents": 500}
    )
    try:
        code, out, _ = await audit(env_of(mongodb_url, database) | {"SALES_DB": sales.name})
    finally:
        await mongo_client.drop_database(sales.name)

    assert code == 1
    assert out.splitlines()[:-1] == [
        f"sales product {mug['id']}: units_sold: stored 3, from events 2"
    ]
