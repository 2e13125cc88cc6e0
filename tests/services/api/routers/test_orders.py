import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from services.api.database import APP_NAME
from services.domain.catalog import STOCK_MAX
from tests.services import factories
from tests.support.auth import JSON

DB = AsyncDatabase[dict[str, Any]]
UNKNOWN = "6650f1c2a4b5c6d7e8f90123"


async def stock_of(client: httpx.AsyncClient, product_id: str) -> int:
    stock: int = (await client.get(f"/products/{product_id}")).json()["stock"]
    return stock


async def test_placing_an_order_reserves_stock_and_records_order_placed(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, name="Mug", price="2.50", stock=10)
    pan = await factories.product(client, name="Pan", price="10.00", stock=1)

    response = await client.post(
        "/orders", json=factories.order_body((mug["id"], 3), (pan["id"], 1), customer="ada")
    )

    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["total"], order["version"]) == ("placed", "17.50", 1)
    assert order["items"] == [
        {
            "product_id": mug["id"],
            "product_name": "Mug",
            "quantity": 3,
            "unit_price": "2.50",
            "line_total": "7.50",
        },
        {
            "product_id": pan["id"],
            "product_name": "Pan",
            "quantity": 1,
            "unit_price": "10.00",
            "line_total": "10.00",
        },
    ]
    assert response.headers["location"] == f"/orders/{order['id']}"
    assert (await stock_of(client, mug["id"]), await stock_of(client, pan["id"])) == (7, 0)
    [event] = await factories.events(database, aggregate_type="order")
    assert (event["type"], event["aggregate_id"], event["aggregate_version"]) == (
        "order.placed",
        order["id"],
        1,
    )
    assert event["payload"] == {
        "order_id": order["id"],
        "customer": "ada",
        "items": order["items"],
        "total": "17.50",
        "placed_at": order["placed_at"],
    }
    for product, left in ((mug, 7), (pan, 0)):
        [_, reserved] = await factories.events(database, aggregate_id=product["id"])
        assert (reserved["type"], reserved["aggregate_version"]) == ("product.stock_reserved", 2)
        assert reserved["payload"]["order_id"] == order["id"]
        assert reserved["payload"]["stock"] == left
        read = await client.get(f"/products/{product['id']}")
        assert (read.json()["version"], read.headers["etag"]) == (2, '"2"')


async def test_reading_an_order(client: httpx.AsyncClient) -> None:
    order = await factories.order(client)

    response = await client.get(f"/orders/{order['id']}")

    assert response.status_code == 200
    assert response.json() == order
    assert response.headers["etag"] == '"1"'
    for order_id in (UNKNOWN, "nope"):
        assert (await client.get(f"/orders/{order_id}")).status_code == 404


async def test_a_short_line_is_409_naming_the_product_and_changes_nothing(
    client: httpx.AsyncClient, database: DB
) -> None:
    plenty = await factories.product(client, stock=10)
    scarce = await factories.product(client, name="Scarce", stock=1)
    events_before = await factories.events(database)

    response = await client.post(
        "/orders", json=factories.order_body((plenty["id"], 2), (scarce["id"], 2))
    )

    assert response.status_code == 409
    problem = response.json()
    assert (problem["code"], problem["product_id"], problem["product_name"]) == (
        "insufficient_stock",
        scarce["id"],
        "Scarce",
    )
    assert "Scarce" in problem["detail"]
    assert (await stock_of(client, plenty["id"]), await stock_of(client, scarce["id"])) == (10, 1)
    assert await factories.count(database, "orders") == 0
    assert await factories.events(database) == events_before


async def test_lines_of_one_product_add_up(client: httpx.AsyncClient) -> None:
    mug = await factories.product(client, stock=3)

    too_many = await client.post(
        "/orders", json=factories.order_body((mug["id"], 2), (mug["id"], 2))
    )
    enough = await client.post("/orders", json=factories.order_body((mug["id"], 2), (mug["id"], 1)))

    assert (too_many.status_code, enough.status_code) == (409, 201)
    assert await stock_of(client, mug["id"]) == 0


async def test_an_order_may_have_100_lines(client: httpx.AsyncClient) -> None:
    mug = await factories.product(client, stock=100, price="1.00")

    response = await client.post("/orders", json=factories.order_body(*[(mug["id"], 1)] * 100))

    assert response.status_code == 201
    assert response.json()["total"] == "100.00"
    assert await stock_of(client, mug["id"]) == 0


async def test_an_unknown_product_is_422_on_its_line(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client)

    response = await client.post(
        "/orders", json=factories.order_body((mug["id"], 1), (UNKNOWN, 1), ("bad", 1))
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "items", 1, "product_id"]
    assert await factories.count(database, "orders") == 0


@pytest.mark.parametrize(
    ("lines", "quantity", "overrides", "loc"),
    [
        (0, 1, {}, ["body", "items"]),
        (101, 1, {}, ["body", "items"]),
        (1, 0, {}, ["body", "items", 0, "quantity"]),
        (1, "1", {}, ["body", "items", 0, "quantity"]),
        (1, 1, {"customer": ""}, ["body", "customer"]),
        (1, 1, {"customer": "x" * 201}, ["body", "customer"]),
        (1, 1, {"coupon": "FREE"}, ["body", "coupon"]),
    ],
)
async def test_invalid_orders_are_422(
    client: httpx.AsyncClient,
    lines: int,
    quantity: object,
    overrides: dict[str, Any],
    loc: list[object],
) -> None:
    body = factories.order_body(**overrides)
    body["items"] = [{"product_id": UNKNOWN, "quantity": quantity}] * lines

    response = await client.post("/orders", json=body)

    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["errors"]]


async def test_cancelling_returns_the_stock_and_records_order_cancelled(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=5)
    order = await factories.order(client, (mug["id"], 3))

    response = await client.post(f"/orders/{order['id']}/cancel", headers=JSON)

    assert response.status_code == 200
    cancelled = response.json()
    assert (cancelled["status"], cancelled["version"]) == ("cancelled", 2)
    assert cancelled["cancelled_at"] is not None
    assert response.headers["etag"] == '"2"'
    assert await stock_of(client, mug["id"]) == 5
    [_, event] = await factories.events(database, aggregate_id=order["id"])
    assert (event["type"], event["aggregate_version"]) == ("order.cancelled", 2)
    assert event["payload"]["items"] == order["items"]
    assert event["payload"]["total"] == order["total"]
    assert event["payload"]["cancelled_at"] == cancelled["cancelled_at"]
    *_, released = await factories.events(database, aggregate_id=mug["id"])
    assert (released["type"], released["aggregate_version"]) == ("product.stock_released", 3)
    assert released["payload"] == {
        "product_id": mug["id"],
        "order_id": order["id"],
        "quantity": 3,
        "stock": 5,
    }


async def test_a_cancel_after_a_restock_to_the_cap_keeps_the_stock_at_the_cap(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=5)
    order = await factories.order(client, (mug["id"], 3), (mug["id"], 1))
    restocked = await client.post(
        f"/products/{mug['id']}/restock", json={"quantity": STOCK_MAX - 3}
    )
    assert restocked.status_code == 200, restocked.text

    response = await client.post(f"/orders/{order['id']}/cancel", headers=JSON)

    assert response.status_code == 200
    assert await stock_of(client, mug["id"]) == STOCK_MAX
    events = await factories.events(database, aggregate_id=mug["id"])
    assert [(event["type"], event["aggregate_version"]) for event in events] == [
        ("product.created", 1),
        ("product.stock_reserved", 2),  # one event for both of the order's lines of mugs
        ("product.restocked", 3),
        ("product.stock_capped", 4),  # in place of product.stock_released
    ]
    read = await client.get(f"/products/{mug['id']}")
    assert (read.json()["version"], read.headers["etag"]) == (4, '"4"')
    assert events[-1]["payload"] == {
        "product_id": mug["id"],
        "order_id": order["id"],
        "returned": 4,
        "dropped": 2,
        "stock": STOCK_MAX,
    }


async def test_cancelling_twice_is_409_and_returns_the_stock_once(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=5)
    order = await factories.order(client, (mug["id"], 2))
    await client.post(f"/orders/{order['id']}/cancel", headers=JSON)

    response = await client.post(f"/orders/{order['id']}/cancel", headers=JSON)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert await stock_of(client, mug["id"]) == 5
    assert len(await factories.events(database, aggregate_id=order["id"])) == 2


async def test_cancelling_with_a_stale_if_match_is_412(client: httpx.AsyncClient) -> None:
    order = await factories.order(client)

    stale = await client.post(f"/orders/{order['id']}/cancel", headers={**JSON, "If-Match": '"7"'})
    current = await client.post(
        f"/orders/{order['id']}/cancel", headers={**JSON, "If-Match": '"1"'}
    )

    assert (stale.status_code, current.status_code) == (412, 200)


async def test_cancelling_an_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    for order_id in (UNKNOWN, "nope"):
        assert (await client.post(f"/orders/{order_id}/cancel", headers=JSON)).status_code == 404


async def test_an_order_s_events(client: httpx.AsyncClient) -> None:
    order = await factories.order(client)
    await client.post(f"/orders/{order['id']}/cancel", headers=JSON)

    response = await client.get(f"/orders/{order['id']}/events")

    assert [(e["type"], e["version"]) for e in response.json()["events"]] == [
        ("order.placed", 1),
        ("order.cancelled", 2),
    ]
    assert (await client.get(f"/orders/{UNKNOWN}/events")).status_code == 404


async def test_50_concurrent_orders_for_the_last_units_never_oversell(
    client: httpx.AsyncClient, database: DB
) -> None:
    units = 5
    mug = await factories.product(client, stock=units)
    body = factories.order_body((mug["id"], 1))

    responses = await asyncio.gather(*(client.post("/orders", json=body) for _ in range(50)))

    assert Counter(r.status_code for r in responses) == {201: units, 409: 50 - units}
    assert await stock_of(client, mug["id"]) == 0
    assert await factories.count(database, "orders") == units
    assert len(await factories.events(database, type="order.placed")) == units


async def test_concurrent_cancels_of_one_order_return_the_stock_once(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=4)
    order = await factories.order(client, (mug["id"], 4))

    responses = await asyncio.gather(
        *(client.post(f"/orders/{order['id']}/cancel", headers=JSON) for _ in range(10))
    )

    assert Counter(r.status_code for r in responses) == {200: 1, 409: 9}
    assert await stock_of(client, mug["id"]) == 4
    assert len(await factories.events(database, type="order.cancelled")) == 1


async def test_a_transient_failure_mid_order_reruns_the_whole_unit_once(
    client: httpx.AsyncClient, database: DB, mongodb_url: str
) -> None:
    """The order's writes (stock, order, events, in one bulkWrite) fail once: the retry must
    not reserve twice."""
    mug = await factories.product(client, stock=5)
    probe: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, appname=APP_NAME)
    try:
        try:
            await probe.admin.command(
                {
                    "configureFailPoint": "failCommand",
                    "mode": {"times": 1},
                    "data": {
                        "failCommands": ["bulkWrite"],
                        "errorCode": 112,  # WriteConflict
                        "errorLabels": ["TransientTransactionError"],
                        "appName": APP_NAME,
                    },
                }
            )
        except OperationFailure:
            pytest.skip("this MongoDB runs without test commands (failCommand)")
        try:
            response = await client.post("/orders", json=factories.order_body((mug["id"], 2)))
            # Witness: this insert would fail had the API's first attempt not used the failpoint.
            await probe[database.name]["witness"].insert_one({})
        finally:
            await probe.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    finally:
        await probe.close()

    assert response.status_code == 201
    assert await stock_of(client, mug["id"]) == 3
    assert await factories.count(database, "orders") == 1
    [placed] = await factories.events(database, type="order.placed")
    assert placed["aggregate_version"] == 1
