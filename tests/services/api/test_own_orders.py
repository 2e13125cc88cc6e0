"""A customer's token reaches that customer's orders only; orders:admin reaches all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.badinput.problems import problem
from tests.services import factories
from tests.services.api.auth import as_, customer
from tests.services.apps import api_settings, running_api
from tests.support.auth import JSON

DB = AsyncDatabase[dict[str, Any]]
ADA = customer("ada")
BOB = customer("bob")
UNKNOWN = "6650f1c2a4b5c6d7e8f90123"


@pytest.fixture
async def anonymous(mongodb_url: str, database: DB) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(api_settings(mongodb_url, database.name), headers={}) as client:
        yield client


async def place(
    client: httpx.AsyncClient, product_id: str, who: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        "/orders", json=factories.order_body((product_id, 1), customer=who), headers=headers
    )


async def test_a_customer_places_reads_and_cancels_their_own_order(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)

    placed = await place(anonymous, product["id"], "ada", ADA)
    order_id = placed.json()["id"]
    read = await anonymous.get(f"/orders/{order_id}", headers=ADA)
    cancelled = await anonymous.post(f"/orders/{order_id}/cancel", headers={**ADA, **JSON})

    assert (placed.status_code, read.status_code, cancelled.status_code) == (201, 200, 200)
    assert cancelled.json()["status"] == "cancelled"


async def test_an_order_for_another_customer_is_a_403_without_orders_admin(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, database: DB
) -> None:
    product = await factories.product(client)

    refused = await place(anonymous, product["id"], "bob", ADA)
    for_bob = await place(anonymous, product["id"], "bob", customer("ada", ["orders:admin"]))

    body = problem(refused, 403, "forbidden")
    assert body["missing_scopes"] == ["orders:admin"]
    assert refused.headers["WWW-Authenticate"].endswith('scope="orders:admin"')
    assert for_bob.status_code == 201
    assert for_bob.json()["customer"] == "bob"
    assert len(await factories.events(database, type="order.placed")) == 1


async def test_another_customers_order_is_a_404_like_a_missing_one(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)
    order_id = (await place(anonymous, product["id"], "ada", ADA)).json()["id"]

    def seen(response: httpx.Response, order: str) -> dict[str, Any]:
        body = problem(response, 404, "not_found")
        body.pop("request_id")
        return {**body, "detail": body["detail"].replace(order, "<id>")}

    foreign_read = await anonymous.get(f"/orders/{order_id}", headers=BOB)
    missing_read = await anonymous.get(f"/orders/{UNKNOWN}", headers=BOB)
    foreign_cancel = await anonymous.post(f"/orders/{order_id}/cancel", headers={**BOB, **JSON})
    missing_cancel = await anonymous.post(f"/orders/{UNKNOWN}/cancel", headers={**BOB, **JSON})

    assert seen(foreign_read, order_id) == seen(missing_read, UNKNOWN)
    assert seen(foreign_cancel, order_id) == seen(missing_cancel, UNKNOWN)
    assert (await anonymous.get(f"/orders/{order_id}", headers=ADA)).json()["status"] == "placed"


async def test_orders_admin_reads_and_cancels_any_order(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)
    order_id = (await place(anonymous, product["id"], "ada", ADA)).json()["id"]
    admin = as_("support", "orders:read", "orders:write", "orders:admin")

    read = await anonymous.get(f"/orders/{order_id}", headers=admin)
    cancelled = await anonymous.post(f"/orders/{order_id}/cancel", headers={**admin, **JSON})

    assert read.json()["customer"] == "ada"
    assert cancelled.json()["status"] == "cancelled"


async def test_reading_and_cancelling_need_their_scopes(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)
    order_id = (await place(anonymous, product["id"], "ada", ADA)).json()["id"]

    read = await anonymous.get(f"/orders/{order_id}", headers=as_("ada", "orders:write"))
    cancel = await anonymous.post(
        f"/orders/{order_id}/cancel", headers={**as_("ada", "orders:read"), **JSON}
    )

    assert problem(read, 403)["missing_scopes"] == ["orders:read"]
    assert problem(cancel, 403)["missing_scopes"] == ["orders:write"]
