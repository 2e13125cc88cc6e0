"""Test data made through the HTTP API, with defaults a test overrides only where it matters."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

_numbers = itertools.count(1)


def category_body(**overrides: Any) -> dict[str, Any]:
    return {"name": f"Category {next(_numbers)}", "description": "Things", **overrides}


def product_body(category_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Product {next(_numbers)}",
        "price": "12.50",
        "category_id": category_id,
        "stock": 10,
        **overrides,
    }


def order_body(*items: tuple[str, int], **overrides: Any) -> dict[str, Any]:
    return {
        "customer": "ada@example.com",
        "items": [{"product_id": product_id, "quantity": q} for product_id, q in items],
        **overrides,
    }


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def category(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return await _created(client, "/categories", category_body(**overrides))


async def product(
    client: httpx.AsyncClient, *, category_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    if category_id is None:
        category_id = (await category(client))["id"]
    return await _created(client, "/products", product_body(category_id, **overrides))


async def order(
    client: httpx.AsyncClient, *items: tuple[str, int], **overrides: Any
) -> dict[str, Any]:
    if not items:
        items = (((await product(client))["id"], 1),)
    return await _created(client, "/orders", order_body(*items, **overrides))


async def events(database: AsyncDatabase[dict[str, Any]], **query: Any) -> list[dict[str, Any]]:
    """Outbox documents read straight from MongoDB, in aggregate-version order."""
    cursor = database["outbox"].find(query).sort([("aggregate_id", 1), ("aggregate_version", 1)])
    return await cursor.to_list()


async def count(database: AsyncDatabase[dict[str, Any]], collection: str, **query: Any) -> int:
    return await database[collection].count_documents(query)
