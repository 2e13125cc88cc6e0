"""Malformed ids in paths and queries: 404 for a path, 422 for a query, nothing written."""

from __future__ import annotations

import httpx
import pytest

from tests.badinput.problems import DB, Shop, error_locs, nothing_written, problem
from tests.support.auth import JSON

MALFORMED_IDS = {
    "word": "nope",
    "23-hex": "6650f1c2a4b5c6d7e8f9012",
    "25-hex": "6650f1c2a4b5c6d7e8f901234",
    "operator": "$gt",
    "nul": "%00",
    "not-utf8": "%FF",
    "newline": "6650f1c2a4b5c6d7e8f90123%0A",
    "unicode": "%E2%98%95",
    "json": "%7B%22%24ne%22%3Anull%7D",
    "10k-chars": "a" * 10_000,
}


@pytest.mark.parametrize("aggregate_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
async def test_reading_a_malformed_id_is_a_404(
    client: httpx.AsyncClient, aggregate_id: str
) -> None:
    for kind in ("categories", "products", "orders"):
        for suffix in ("", "/events"):
            response = await client.get(f"/{kind}/{aggregate_id}{suffix}")

            problem(response, 404, "not_found")


@pytest.mark.parametrize("aggregate_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
async def test_a_command_on_a_malformed_id_is_a_404_and_writes_nothing(
    client: httpx.AsyncClient, database: DB, aggregate_id: str
) -> None:
    async with nothing_written(database):
        responses = [
            await client.post(f"/products/{aggregate_id}/price", json={"price": "1.00"}),
            await client.post(f"/products/{aggregate_id}/restock", json={"quantity": 1}),
            await client.post(f"/orders/{aggregate_id}/cancel", headers=JSON),
        ]

    for response in responses:
        problem(response, 404, "not_found")


async def test_ids_of_the_wrong_kind_or_case_are_404s(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    mug = shop.product_ids[0]

    async with nothing_written(database):
        responses = [
            await client.get(f"/orders/{mug}"),
            await client.get(f"/categories/{shop.order_id}/events"),
            await client.get(f"/products/{mug.upper()}"),
            await client.post(f"/orders/{mug}/cancel", headers=JSON),
            await client.post(f"/products/{shop.order_id}/restock", json={"quantity": 1}),
        ]

    for response in responses:
        problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("cursor=nope", "cursor"),
        ("cursor=6650F1C2A4B5C6D7E8F90123", "cursor"),
        ("cursor=6650f1c2a4b5c6d7e8f90123%0A", "cursor"),
        ("category_id=%24ne", "category_id"),
        ("category_id=6650f1c2a4b5c6d7e8f90123&category_id=x", "category_id"),
    ],
)
async def test_a_malformed_listing_query_is_a_422(
    client: httpx.AsyncClient, query: str, loc: str
) -> None:
    response = await client.get(f"/products?{query}")

    assert ["query", loc] in error_locs(problem(response, 422, "validation_failed"))


async def test_unknown_query_parameters_are_ignored(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get("/products", params={"sort": "$natural", "limit": 1})

    assert response.status_code == 200
    assert len(response.json()["items"]) == 1
