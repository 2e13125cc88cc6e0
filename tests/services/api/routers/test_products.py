from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.services import factories

DB = AsyncDatabase[dict[str, Any]]
UNKNOWN = "6650f1c2a4b5c6d7e8f90123"


async def test_creating_a_product_stores_it_with_its_event(
    client: httpx.AsyncClient, database: DB
) -> None:
    category = await factories.category(client)

    response = await client.post(
        "/products",
        json={"name": "Mug", "price": "12.5", "category_id": category["id"], "stock": 4},
    )

    assert response.status_code == 201
    product = response.json()
    assert product == {
        "id": product["id"],
        "name": "Mug",
        "price": "12.50",
        "category_id": category["id"],
        "stock": 4,
        "version": 1,
    }
    assert response.headers["etag"] == '"1"'
    [event] = await factories.events(database, aggregate_type="product")
    assert (event["type"], event["aggregate_id"], event["aggregate_version"]) == (
        "product.created",
        product["id"],
        1,
    )
    assert event["payload"]["price"] == "12.50"


async def test_a_json_number_price_comes_back_as_a_string(client: httpx.AsyncClient) -> None:
    product = await factories.product(client, price=19.99)

    assert product["price"] == "19.99"


async def test_an_unknown_category_is_422_and_creates_nothing(
    client: httpx.AsyncClient, database: DB
) -> None:
    response = await client.post("/products", json=factories.product_body(UNKNOWN))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["loc"], error["type"]) == (["body", "category_id"], "unknown_reference")
    assert await factories.count(database, "products") == 0
    assert await factories.events(database) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "0"}, "price"),
        ({"price": "-1.00"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"price": "NaN"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": "5"}, "stock"),
        ({"stock": 2.0}, "stock"),
        ({"name": "x" * 201}, "name"),
        ({"category_id": "x" * 65}, "category_id"),
        ({"discount": 5}, "discount"),
    ],
)
async def test_invalid_fields_are_422_field_by_field(
    client: httpx.AsyncClient, database: DB, overrides: dict[str, Any], field: str
) -> None:
    category = await factories.category(client)

    body = factories.product_body(category["id"]) | overrides

    response = await client.post("/products", json=body)

    assert response.status_code == 422
    assert ["body", field] in [error["loc"] for error in response.json()["errors"]]
    assert await factories.count(database, "products") == 0


async def test_changing_the_price_records_old_and_new(
    client: httpx.AsyncClient, database: DB
) -> None:
    product = await factories.product(client, price="12.50")

    response = await client.post(f"/products/{product['id']}/price", json={"price": "9.9"})

    assert response.status_code == 200
    assert (response.json()["price"], response.json()["version"]) == ("9.90", 2)
    assert response.headers["etag"] == '"2"'
    [_, changed] = await factories.events(database, aggregate_id=product["id"])
    assert (changed["type"], changed["aggregate_version"]) == ("product.price_changed", 2)
    assert changed["payload"] == {
        "product_id": product["id"],
        "old_price": "12.50",
        "new_price": "9.90",
    }


async def test_the_same_price_again_records_nothing(
    client: httpx.AsyncClient, database: DB
) -> None:
    product = await factories.product(client, price="12.50")

    response = await client.post(f"/products/{product['id']}/price", json={"price": "12.5"})

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert len(await factories.events(database, aggregate_id=product["id"])) == 1


async def test_restocking_adds_units(client: httpx.AsyncClient, database: DB) -> None:
    product = await factories.product(client, stock=2)

    response = await client.post(f"/products/{product['id']}/restock", json={"quantity": 5})

    assert response.status_code == 200
    assert (response.json()["stock"], response.json()["version"]) == (7, 2)
    [_, restocked] = await factories.events(database, aggregate_id=product["id"])
    assert (restocked["type"], restocked["aggregate_version"]) == ("product.restocked", 2)
    assert restocked["payload"] == {"product_id": product["id"], "quantity": 5, "stock": 7}


@pytest.mark.parametrize("quantity", [0, -3, "5", 1.5, None])
async def test_restocking_needs_a_positive_integer(
    client: httpx.AsyncClient, quantity: object
) -> None:
    product = await factories.product(client)

    response = await client.post(f"/products/{product['id']}/restock", json={"quantity": quantity})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "quantity"]


@pytest.mark.parametrize(
    ("path", "body"), [("price", {"price": "1.00"}), ("restock", {"quantity": 1})]
)
async def test_commands_on_an_unknown_product_are_404(
    client: httpx.AsyncClient, database: DB, path: str, body: dict[str, Any]
) -> None:
    for product_id in (UNKNOWN, "nope"):
        response = await client.post(f"/products/{product_id}/{path}", json=body)
        assert response.status_code == 404
    assert await factories.events(database) == []


@pytest.mark.parametrize(
    ("path", "body"), [("price", {"price": "1.00"}), ("restock", {"quantity": 1})]
)
async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, database: DB, path: str, body: dict[str, Any]
) -> None:
    product = await factories.product(client)
    await client.post(f"/products/{product['id']}/restock", json={"quantity": 1})  # version 2

    response = await client.post(
        f"/products/{product['id']}/{path}", json=body, headers={"If-Match": '"1"'}
    )

    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    current = (await client.get(f"/products/{product['id']}")).json()
    assert (current["version"], current["price"], current["stock"]) == (2, "12.50", 11)
    assert len(await factories.events(database, aggregate_id=product["id"])) == 2


@pytest.mark.parametrize("if_match", ['"2"', "*", '"1", "2"'])
async def test_a_current_if_match_applies(client: httpx.AsyncClient, if_match: str) -> None:
    product = await factories.product(client, price="5.00")
    await client.post(f"/products/{product['id']}/price", json={"price": "6.00"})  # version 2

    response = await client.post(
        f"/products/{product['id']}/restock", json={"quantity": 1}, headers={"If-Match": if_match}
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'


async def test_reading_a_product_gives_its_version_as_etag(client: httpx.AsyncClient) -> None:
    product = await factories.product(client)

    response = await client.get(f"/products/{product['id']}")

    assert response.status_code == 200
    assert response.json() == product
    assert response.headers["etag"] == '"1"'
    assert (await client.get(f"/products/{UNKNOWN}")).status_code == 404


async def test_listing_pages_through_a_category_in_creation_order(
    client: httpx.AsyncClient,
) -> None:
    category = await factories.category(client)
    ids = [(await factories.product(client, category_id=category["id"]))["id"] for _ in range(5)]
    await factories.product(client)  # in another category

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params = {"category_id": category["id"], "limit": 2} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (await client.get("/products", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]

    assert seen == ids
    assert cursor is None


async def test_listing_everything(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await factories.product(client)

    page = (await client.get("/products")).json()

    assert len(page["items"]) == 3 and page["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"cursor": "nope"}, {"category_id": "x"}, {"limit": "many"}],
)
async def test_listing_refuses_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/products", params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_a_product_s_events_in_version_order(client: httpx.AsyncClient) -> None:
    product = await factories.product(client)
    await client.post(f"/products/{product['id']}/price", json={"price": "1.00"})
    await client.post(f"/products/{product['id']}/restock", json={"quantity": 1})

    response = await client.get(f"/products/{product['id']}/events")

    assert response.status_code == 200
    assert [(e["type"], e["version"], e["status"]) for e in response.json()["events"]] == [
        ("product.created", 1, "pending"),
        ("product.price_changed", 2, "pending"),
        ("product.restocked", 3, "pending"),
    ]
    assert (await client.get(f"/products/{UNKNOWN}/events")).status_code == 404
