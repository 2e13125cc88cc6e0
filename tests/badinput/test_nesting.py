"""Deeply nested JSON is a 422 like any other unreadable body, and the API goes on serving."""

from __future__ import annotations

import httpx
import pytest

from tests.badinput.commands import command
from tests.badinput.problems import DB, LIMIT, Shop, error_locs, nothing_written, problem
from tests.services import factories

DEPTH = 10_000
JSON = {"content-type": "application/json"}
BODY_COMMANDS = ["category", "product", "price", "restock", "order"]

UNDECODABLE = {
    "open-arrays": b"[" * DEPTH,
    "closed-arrays": b"[" * DEPTH + b"]" * DEPTH,
    "open-objects": b'{"a":' * DEPTH,
    "closed-objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "deep-field": b'{"name":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
}


def test_the_bodies_fit_under_the_limit() -> None:
    """Else they would be 413s, and the decoder would never see them."""
    assert max(len(body) for body in UNDECODABLE.values()) <= LIMIT


@pytest.mark.parametrize("content", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_ten_thousand_levels_are_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, content: bytes
) -> None:
    async with nothing_written(database):
        responses = {
            name: await client.post(command(shop, name)[0], content=content, headers=JSON)
            for name in BODY_COMMANDS
        }

    for name, response in responses.items():
        [error] = problem(response, 422, "validation_failed")["errors"]
        assert (error["loc"][0], error["type"]) == ("body", "json_invalid"), name


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b'{"name":' + b"[" * 500 + b"]" * 500 + b"}", ["body", "name"]),
        (b'{"name":"x","extra":' + b'{"a":' * 500 + b"1" + b"}" * 500 + b"}", ["body", "extra"]),
        (
            b'{"customer":"c","items":[{"product_id":"p","quantity":'
            + b"[" * 500
            + b"]" * 500
            + b"}]}",
            ["body", "items", 0, "quantity"],
        ),
    ],
    ids=["in-a-field", "in-an-unknown-field", "in-an-order-line"],
)
async def test_nesting_the_decoder_reads_is_a_field_error(
    client: httpx.AsyncClient, database: DB, content: bytes, loc: list[str | int]
) -> None:
    path = "/orders" if b"customer" in content else "/categories"

    async with nothing_written(database):
        response = await client.post(path, content=content, headers=JSON)

    assert loc in error_locs(problem(response, 422, "validation_failed"))


async def test_the_api_keeps_serving_after_deep_nesting(client: httpx.AsyncClient) -> None:
    for content in UNDECODABLE.values():
        problem(await client.post("/orders", content=content, headers=JSON), 422)

    response = await client.post("/categories", json=factories.category_body())

    assert response.status_code == 201
