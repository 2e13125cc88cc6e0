"""`audit()` after real commands through the API: state = events, and every kind of drift
(a tampered document, a deleted event, a projection off by one, an event the archive lacks)
is one mismatch line naming the aggregate, the field and both values."""

from __future__ import annotations

import random
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from services.audit import audit
from services.domain.catalog import STOCK_MAX
from services.sales.figures import CustomerFigures, Figures, ProductFigures
from tests.services import factories
from tests.support.auth import JSON

DB = AsyncDatabase[dict[str, Any]]


async def history(client: httpx.AsyncClient, *, seed: int = 7, commands: int = 40) -> list[str]:
    """A seeded mix of every command, refused ones included; the ids of the products."""
    rng = random.Random(seed)
    category = await factories.category(client)
    products = [
        (await factories.product(client, category_id=category["id"], stock=rng.randint(0, 8)))["id"]
        for _ in range(4)
    ]
    orders: list[str] = []
    for _ in range(commands):
        product = rng.choice(products)
        match rng.choice(["place", "place", "cancel", "restock", "reprice"]):
            case "place":
                lines = [
                    (rng.choice(products), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))
                ]
                body = factories.order_body(*lines, customer=rng.choice(["ada", "bob"]))
                response = await client.post("/orders", json=body)
                assert response.status_code in (201, 409), response.text
                if response.status_code == 201:
                    orders.append(response.json()["id"])
            case "cancel" if orders:
                response = await client.post(f"/orders/{rng.choice(orders)}/cancel", headers=JSON)
                assert response.status_code in (200, 409), response.text
            case "restock":
                response = await client.post(
                    f"/products/{product}/restock", json={"quantity": rng.randint(1, 5)}
                )
                assert response.status_code == 200, response.text
            case "reprice":
                price = f"{rng.randint(1, 3)}.50"
                response = await client.post(f"/products/{product}/price", json={"price": price})
                assert response.status_code == 200, response.text
    return products


def nothing(_: int) -> None:
    pass


async def test_after_any_commands_the_state_is_what_the_events_say(
    client: httpx.AsyncClient, database: DB
) -> None:
    for seed in range(3):
        await history(client, seed=seed)
    # and a cancel whose units no longer fit under the cap: product.stock_capped
    mug = await factories.product(client, stock=5)
    order = await factories.order(client, (mug["id"], 4))
    await client.post(f"/products/{mug['id']}/restock", json={"quantity": STOCK_MAX - 2})
    assert (await client.post(f"/orders/{order['id']}/cancel", headers=JSON)).status_code == 200

    report = await audit(progress=nothing)

    assert report.ok, [m.line() for m in report.mismatches]
    assert report.checked["events"] == await database["outbox"].count_documents({})
    assert report.checked["products"] == await database["products"].count_documents({})
    assert report.checked["orders"] == await database["orders"].count_documents({}) > 10


async def test_a_tampered_document_is_one_line_with_both_values(
    client: httpx.AsyncClient, database: DB
) -> None:
    [product, *_] = await history(client)
    stored = await database["products"].find_one_and_update(
        {"_id": _oid(product)}, {"$inc": {"stock": 1}}
    )
    assert stored is not None

    report = await audit(progress=nothing)

    assert [m.line() for m in report.mismatches] == [
        f"product {product}: stock: stored {stored['stock'] + 1}, from events {stored['stock']}"
    ]
    assert not report.ok
    assert report.summary().startswith("audit: 1 mismatch (")


async def test_a_deleted_event_shows_as_a_gap_or_a_version_ahead_of_its_events(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=9)
    for quantity in (1, 2, 3):
        await client.post(f"/products/{mug['id']}/restock", json={"quantity": quantity})
    pan = await factories.product(client, stock=9)
    await client.post(f"/products/{pan['id']}/restock", json={"quantity": 1})
    await database["outbox"].delete_one({"aggregate_id": mug["id"], "aggregate_version": 2})
    await database["outbox"].delete_one({"aggregate_id": pan["id"], "aggregate_version": 2})

    lines = [m.line() for m in (await audit(progress=nothing)).mismatches]

    assert lines == [
        f"product {mug['id']}: history: stored 'events', "
        f"from events 'product {mug['id']}: version 3 follows 1'",
        f"product {pan['id']}: version: stored 2, from events 1",
        f"product {pan['id']}: stock: stored 10, from events 9",
    ]


async def test_a_document_without_events_and_events_without_a_document(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client)
    pan = await factories.product(client)
    await database["outbox"].delete_many({"aggregate_id": mug["id"]})
    await database["products"].delete_one({"_id": _oid(pan["id"])})

    lines = [m.line() for m in (await audit(progress=nothing)).mismatches]

    assert f"product {mug['id']}: events: stored 'a document', from events 'no events'" in lines
    assert f"product {pan['id']}: document: stored None, from events 'an aggregate'" in lines


async def test_a_projection_off_by_one_and_an_event_missing_from_the_archive(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=9)
    await factories.order(client, (mug["id"], 2), customer="ada")
    await database["outbox"].update_many({}, {"$set": {"status": "published"}})
    published = [str(e["_id"]) for e in await factories.events(database)]

    async def sales() -> Figures:
        return Figures(
            products={mug["id"]: ProductFigures(units_sold=3, revenue_cents=2500)},  # one too many
            customers={"ada": CustomerFigures(orders=1, placed=1, cancelled=0, spent_cents=2500)},
        )

    async def archive(count: int) -> set[str]:
        assert count == len(published)
        return set(published[1:])

    report = await audit(progress=nothing, sales=sales, archive=archive)

    assert [m.line() for m in report.mismatches] == [
        f"sales product {mug['id']}: units_sold: stored 3, from events 2",
        f"event {published[0]}: archive: stored 'published', "
        "from events 'missing from the archive'",
    ]


def _oid(value: str) -> Any:
    from bson import ObjectId

    return ObjectId(value)
