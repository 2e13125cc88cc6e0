import asyncio
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.services import factories
from tests.services.api.auth import customer
from tests.support.auth import JSON

DB = AsyncDatabase[dict[str, Any]]


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_a_retry_with_the_same_key_and_body_gets_the_first_reply_and_no_second_event(
    client: httpx.AsyncClient, database: DB
) -> None:
    body = factories.category_body()

    first = await client.post("/categories", json=body, headers=key("k-1"))
    again = await client.post("/categories", json=body, headers=key("k-1"))

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await factories.count(database, "categories") == 1
    assert len(await factories.events(database)) == 1


async def test_the_reply_is_stored_with_the_command(
    client: httpx.AsyncClient, database: DB
) -> None:
    await client.post("/categories", json=factories.category_body(), headers=key("k-2"))

    [stored] = await database["idempotency_keys"].find().to_list()
    assert (stored["_id"], stored["status_code"]) == ('["admin","k-2"]', 201)  # the caller's key


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, database: DB
) -> None:
    await client.post("/categories", json=factories.category_body(name="A"), headers=key("k-3"))

    response = await client.post(
        "/categories", json=factories.category_body(name="B"), headers=key("k-3")
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert await factories.count(database, "categories") == 1


async def test_the_same_key_on_another_resource_is_422(client: httpx.AsyncClient) -> None:
    product = await factories.product(client)
    path = f"/products/{product['id']}/restock"
    await client.post(path, json={"quantity": 1}, headers=key("k-4"))

    response = await client.post(
        f"/products/{product['id']}/price", json={"price": "1.00"}, headers=key("k-4")
    )

    assert response.status_code == 422


async def test_replaying_a_cancel_is_not_a_second_cancel(
    client: httpx.AsyncClient, database: DB
) -> None:
    order = await factories.order(client)

    first = await client.post(f"/orders/{order['id']}/cancel", headers={**JSON, **key("k-5")})
    again = await client.post(f"/orders/{order['id']}/cancel", headers={**JSON, **key("k-5")})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert len(await factories.events(database, type="order.cancelled")) == 1


async def test_a_failed_command_stores_no_reply_so_a_retry_runs_it_again(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=0)
    body = factories.order_body((mug["id"], 1))

    refused = await client.post("/orders", json=body, headers=key("k-6"))
    await client.post(f"/products/{mug['id']}/restock", json={"quantity": 1})
    accepted = await client.post("/orders", json=body, headers=key("k-6"))

    assert (refused.status_code, accepted.status_code) == (409, 201)
    assert await factories.count(database, "idempotency_keys", _id='["admin","k-6"]') == 1


async def test_concurrent_retries_with_one_key_run_the_command_once(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client, stock=10)
    body = factories.order_body((mug["id"], 1))

    responses = await asyncio.gather(
        *(client.post("/orders", json=body, headers=key("k-7")) for _ in range(10))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await factories.count(database, "orders") == 1
    assert len(await factories.events(database, type="order.placed")) == 1


@pytest.mark.parametrize("value", ["", "k" * 256])
async def test_an_empty_or_absurdly_long_key_is_422(
    client: httpx.AsyncClient, database: DB, value: str
) -> None:
    response = await client.post("/categories", json=factories.category_body(), headers=key(value))

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "idempotency-key"]
    assert await factories.count(database, "categories") == 0


async def test_two_callers_choosing_the_same_key_each_get_their_own_command(
    client: httpx.AsyncClient, database: DB
) -> None:
    product = await factories.product(client)
    replies = {}
    for who in ("ada", "bob"):
        body = factories.order_body((product["id"], 1), customer=who)
        headers = {**customer(who), **key("shared-key")}
        replies[who] = await client.post("/orders", json=body, headers=headers)
    again = await client.post(
        "/orders",
        json=factories.order_body((product["id"], 1), customer="ada"),
        headers={**customer("ada"), **key("shared-key")},
    )

    assert [r.status_code for r in replies.values()] == [201, 201]
    assert replies["ada"].json()["id"] != replies["bob"].json()["id"]
    assert replies["bob"].json()["customer"] == "bob"
    assert (again.status_code, again.json()) == (201, replies["ada"].json())
    assert again.headers["idempotent-replayed"] == "true"
    assert await factories.count(database, "orders") == 2
