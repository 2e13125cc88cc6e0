"""Bodies that are not a JSON object of the command: 422, field `body`, nothing written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.badinput.commands import command
from tests.badinput.problems import DB, Shop, nothing_written, problem
from tests.services import factories

BODY_COMMANDS = ["category", "product", "price", "restock", "order"]
JSON = {"content-type": "application/json"}

MALFORMED = {
    "truncated": b'{"name": "Mugs"',
    "single-quotes": b"{'name': 'Mugs'}",
    "trailing-comma": b'{"name": "Mugs",}',
    "two-documents": b'{"name": "Mugs"}{"name": "Pans"}',
    "trailing-garbage": b'{"name": "Mugs"} x',
    "comment": b'{"name": "Mugs" /* c */}',
    "unquoted-key": b'{name: "Mugs"}',
    "nul-byte": b"\x00",
    "not-utf8": b'{"name": "\xff"}',
    "huge-integer": b'{"stock": 1' + b"0" * 5000 + b"}",
}
NOT_AN_OBJECT = {
    "array": b"[]",
    "string": b'"Mugs"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
}


async def body_errors(
    client: httpx.AsyncClient, shop: Shop, content: bytes, headers: dict[str, str]
) -> list[tuple[str, dict[str, Any]]]:
    """The one field error of each command with a body, sent `content`."""
    errors = []
    for name in BODY_COMMANDS:
        path, _ = command(shop, name)
        response = await client.post(path, content=content, headers=headers)
        [error] = problem(response, 422, "validation_failed")["errors"]
        errors.append((name, error))
    return errors


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_json_is_a_422_json_invalid(
    client: httpx.AsyncClient, database: DB, shop: Shop, content: bytes
) -> None:
    async with nothing_written(database):
        errors = await body_errors(client, shop, content, JSON)

    for name, error in errors:
        assert (error["loc"][0], error["type"]) == ("body", "json_invalid"), name


@pytest.mark.parametrize("content", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_json_that_is_no_object_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, content: bytes
) -> None:
    async with nothing_written(database):
        errors = await body_errors(client, shop, content, JSON)

    for name, error in errors:
        assert (error["loc"], error["type"]) == (["body"], "model_attributes_type"), name


async def test_an_empty_body_declared_json_is_a_422_missing(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    async with nothing_written(database):
        errors = await body_errors(client, shop, b"", JSON)

    for name, error in errors:
        assert (error["loc"], error["type"]) == (["body"], "missing"), name


NOT_JSON = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/jsonx",
    "text/json",
    "application/octet-stream",
    ";;;==",
    "\x7f",
]


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize("name", ["category", "order", "cancel"])
async def test_a_json_body_under_another_content_type_is_a_415(
    client: httpx.AsyncClient, database: DB, shop: Shop, name: str, content_type: str | None
) -> None:
    """A command reads only a body declared JSON; anything else (or nothing) is refused."""
    path, body = command(shop, name)
    headers = {"content-type": content_type} if content_type else {}

    async with nothing_written(database):
        response = await client.post(path, content=json.dumps(body).encode(), headers=headers)

    problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded"])
async def test_a_bodyless_command_without_a_json_content_type_is_a_415(
    client: httpx.AsyncClient, database: DB, shop: Shop, content_type: str | None
) -> None:
    """Cancel reads no body, yet a cross-site form (or a bare POST) cannot trigger it."""
    headers = {"content-type": content_type} if content_type else {}

    async with nothing_written(database):
        response = await client.post(f"/orders/{shop.order_id}/cancel", headers=headers)

    problem(response, 415, "unsupported_media_type")


async def test_a_bodyless_command_declared_json_with_an_empty_body_runs(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(f"/orders/{shop.order_id}/cancel", headers=JSON)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["category", "order"])
async def test_a_multipart_form_is_a_415(
    client: httpx.AsyncClient, database: DB, shop: Shop, name: str
) -> None:
    path, body = command(shop, name)
    fields = {key: json.dumps(value) for key, value in body.items()}

    async with nothing_written(database):
        response = await client.post(path, files={"file": ("x.json", b"{}")}, data=fields)

    assert response.request.headers["content-type"].startswith("multipart/form-data")
    problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
        "application/vnd.boundbox+json; version=1",
    ],
)
async def test_json_declared_any_standard_way_is_read(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/categories",
        content=json.dumps(factories.category_body()).encode(),
        headers={"content-type": content_type},
    )

    assert response.status_code == 201, response.text


async def test_a_command_without_a_body_ignores_one(client: httpx.AsyncClient, shop: Shop) -> None:
    """Cancel takes no body: whatever is sent (within the size limit) is not read."""
    response = await client.post(f"/orders/{shop.order_id}/cancel", content=b"{{{", headers=JSON)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
