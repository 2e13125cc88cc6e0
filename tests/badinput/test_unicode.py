"""Unicode in text fields: what is accepted comes back byte for byte, the rest is a 422.

The decisions, for every text field (category name and description, product name, customer):
- any Unicode scalar value is accepted and returned unchanged, NUL, controls, bidi overrides,
  combining marks (no normalisation), noncharacters and astral planes included;
- names and customers lose surrounding whitespace (Python's idea of it); descriptions don't;
- lengths count code points, not bytes nor graphemes;
- a lone surrogate (escaped, or encoded in the raw bytes) is a 422 on its field;
- bytes that are not UTF-8 at all make the body unreadable: a 422 on `body`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.badinput.problems import DB, Shop, nothing_written, problem
from tests.services import factories

# field: (collection path, its event type, the limit of its length)
FIELDS = {
    "category.name": ("/categories", "category.created", 200),
    "category.description": ("/categories", "category.created", 2000),
    "product.name": ("/products", "product.created", 200),
    "order.customer": ("/orders", "order.placed", 200),
}
TRIMMED = {"category.name", "product.name", "order.customer"}

ACCEPTED = {
    "emoji-zwj": "\U0001f469\U0001f3fd\u200d\U0001f4bb \u2615\ufe0f",
    "rtl": "\u0645\u0631\u062d\u0628\u0627 \u05e2\u05d5\u05dc\u05dd",
    "bidi-override": "abc\u202etxt.exe\u202c",
    "combining-nfd": "e\u0301 A\u030a \u0928\u093f",
    "nul": "a\u0000b",
    "controls": "a\x01\x1b[31mb\x7f",
    "zero-width": "a\u200bb\u200cc\u200dd\u2060e",
    "bom-inside": "a\ufeffb",
    "astral": "\U0001d54f\U0001d538 \U00020000",
    "noncharacters": "\ue000\ufdd0\ufffe\uffff\U0010ffff",
    "replacement": "\ufffd",
}
LONE_SURROGATES = {
    "high": rb"\ud800",
    "low": rb"\udfff",
    "reversed-pair": rb"\udc00\ud800",
    "inside": rb"x\ud83dy",
    "raw-bytes": b"\xed\xa0\x80",  # U+D800 encoded as if it were a character
}
NOT_UTF8 = {
    "ff": b"\xff",
    "overlong-slash": b"\xc0\xaf",
    "truncated": b"\xe2\x82",
    "above-10ffff": b"\xf4\x90\x80\x80",
    "latin-1": "caf\xe9".encode("latin-1"),
}
RAW = "\x00raw\x00"  # stands for raw bytes until the body is encoded


def body_with(shop: Shop, field: str, value: str) -> tuple[str, dict[str, Any]]:
    kind, name = field.split(".")
    path = FIELDS[field][0]
    body = {
        "category": factories.category_body,
        "product": lambda: factories.product_body(shop.category_id),
        "order": lambda: factories.order_body((shop.product_ids[0], 1)),
    }[kind]()
    body[name] = value
    return path, body


async def post_raw(client: httpx.AsyncClient, shop: Shop, field: str, raw: bytes) -> httpx.Response:
    """The field's string literal is `raw`, bytes and escapes as they are."""
    path, body = body_with(shop, field, RAW)
    content = json.dumps(body).encode().replace(json.dumps(RAW).encode(), b'"' + raw + b'"')
    return await client.post(path, content=content, headers={"content-type": "application/json"})


async def stored_copies(
    client: httpx.AsyncClient, database: DB, field: str, created: dict[str, Any]
) -> list[str]:
    """The field as the reply, a later read and the recorded event carry it."""
    path, event_type, _ = FIELDS[field]
    name = field.split(".")[1]
    read = (await client.get(f"{path}/{created['id']}")).json()
    [event] = await factories.events(database, type=event_type, aggregate_id=created["id"])
    return [created[name], read[name], event["payload"][name]]


@pytest.mark.parametrize("value", ACCEPTED.values(), ids=ACCEPTED.keys())
async def test_unicode_is_accepted_and_returned_byte_identical(
    client: httpx.AsyncClient, database: DB, shop: Shop, value: str
) -> None:
    for field in FIELDS:
        path, body = body_with(shop, field, value)

        response = await client.post(path, json=body)

        assert response.status_code == 201, (field, response.text)
        for copy in await stored_copies(client, database, field, response.json()):
            assert copy.encode("utf-8", "surrogatepass") == value.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("field", FIELDS)
async def test_an_escaped_surrogate_pair_is_one_character(
    client: httpx.AsyncClient, database: DB, shop: Shop, field: str
) -> None:
    response = await post_raw(client, shop, field, rb"\ud83d\ude00")

    assert response.status_code == 201, response.text
    assert await stored_copies(client, database, field, response.json()) == ["\U0001f600"] * 3


@pytest.mark.parametrize("field", sorted(TRIMMED))
@pytest.mark.parametrize("padding", ["  \t\n", "\u3000\u00a0\u2028", "\x1f\x85"])
async def test_names_lose_surrounding_whitespace(
    client: httpx.AsyncClient, database: DB, shop: Shop, field: str, padding: str
) -> None:
    path, body = body_with(shop, field, f"{padding}Mug {padding}Pan{padding}")

    response = await client.post(path, json=body)

    assert response.status_code == 201, response.text
    expected = f"Mug {padding}Pan"
    assert await stored_copies(client, database, field, response.json()) == [expected] * 3


async def test_descriptions_keep_surrounding_whitespace(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    path, body = body_with(shop, "category.description", "\u3000 two\nlines \t")

    response = await client.post(path, json=body)

    assert response.status_code == 201
    copies = await stored_copies(client, database, "category.description", response.json())
    assert copies == ["\u3000 two\nlines \t"] * 3


@pytest.mark.parametrize("field", sorted(TRIMMED))
async def test_a_name_of_whitespace_only_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, field: str
) -> None:
    path, body = body_with(shop, field, "\u3000\x1f\u00a0")

    async with nothing_written(database):
        response = await client.post(path, json=body)

    [error] = problem(response, 422, "validation_failed")["errors"]
    assert error["loc"] == ["body", field.split(".")[1]]


@pytest.mark.parametrize("raw", LONE_SURROGATES.values(), ids=LONE_SURROGATES.keys())
async def test_a_lone_surrogate_is_a_422_on_its_field(
    client: httpx.AsyncClient, database: DB, shop: Shop, raw: bytes
) -> None:
    async with nothing_written(database):
        responses = {field: await post_raw(client, shop, field, raw) for field in FIELDS}

    for field, response in responses.items():
        [error] = problem(response, 422, "validation_failed")["errors"]
        assert (error["loc"], error["type"]) == (["body", field.split(".")[1]], "string_unicode")


@pytest.mark.parametrize("raw", NOT_UTF8.values(), ids=NOT_UTF8.keys())
async def test_bytes_that_are_not_utf8_are_a_422_on_the_body(
    client: httpx.AsyncClient, database: DB, shop: Shop, raw: bytes
) -> None:
    async with nothing_written(database):
        responses = {field: await post_raw(client, shop, field, raw) for field in FIELDS}

    for field, response in responses.items():
        [error] = problem(response, 422, "validation_failed")["errors"]
        assert (error["loc"], error["type"]) == (["body"], "json_invalid"), field


@pytest.mark.parametrize(
    "unit",
    ["a", "\u00e9", "\U0001f600", "\U0010ffff", "\u0301"],
    ids=["ascii", "latin", "astral", "last", "combining"],
)
async def test_a_field_of_its_limit_in_code_points_is_accepted(
    client: httpx.AsyncClient, database: DB, shop: Shop, unit: str
) -> None:
    for field, (_, _, limit) in FIELDS.items():
        value = "x" + unit * (limit - 1)
        path, body = body_with(shop, field, value)

        response = await client.post(path, json=body)

        assert response.status_code == 201, (field, response.text)
        assert await stored_copies(client, database, field, response.json()) == [value] * 3


@pytest.mark.parametrize(
    "unit", ["a", "\U0001f600", "\u0301"], ids=["ascii", "astral", "combining"]
)
async def test_one_code_point_over_the_limit_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, unit: str
) -> None:
    async with nothing_written(database):
        responses = {}
        for field, (_, _, limit) in FIELDS.items():
            path, body = body_with(shop, field, "x" + unit * limit)
            responses[field] = await client.post(path, json=body)

    for field, response in responses.items():
        [error] = problem(response, 422, "validation_failed")["errors"]
        assert (error["loc"], error["type"]) == (["body", field.split(".")[1]], "string_too_long")
