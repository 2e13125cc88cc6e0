"""Bodies over the limit are 413 before anything runs, however they are framed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.badinput.commands import COMMANDS, command, padded
from tests.badinput.problems import DB, LIMIT, Shop, nothing_written, problem
from tests.services import factories

JSON = {"content-type": "application/json"}
FAR_OVER = 10 * 1024 * 1024


def too_large(response: httpx.Response) -> None:
    body = problem(response, 413, "payload_too_large")
    assert str(LIMIT) in body["detail"]


async def chunked(content: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


@pytest.mark.parametrize("size", [LIMIT + 1, FAR_OVER], ids=["just-over", "far-over"])
async def test_a_body_over_the_limit_with_content_length_is_413(
    client: httpx.AsyncClient, database: DB, shop: Shop, size: int
) -> None:
    async with nothing_written(database):
        for name in COMMANDS:
            path, body = command(shop, name)
            response = await client.post(path, content=padded(body, size), headers=JSON)

            assert response.request.headers["content-length"] == str(size)
            too_large(response)


@pytest.mark.parametrize("size", [LIMIT + 1, FAR_OVER], ids=["just-over", "far-over"])
async def test_a_chunked_body_over_the_limit_is_413(
    client: httpx.AsyncClient, database: DB, shop: Shop, size: int
) -> None:
    """Also for a command that takes no body (cancel): it must not run with one either."""
    async with nothing_written(database):
        for name in COMMANDS:
            path, body = command(shop, name)
            response = await client.post(path, content=chunked(padded(body, size)), headers=JSON)

            assert "content-length" not in response.request.headers
            too_large(response)


@pytest.mark.parametrize("declared", ["10", "0"])
async def test_a_content_length_that_understates_the_body_is_no_way_around(
    client: httpx.AsyncClient, database: DB, declared: str
) -> None:
    content = padded(factories.category_body(), LIMIT + 1)

    async with nothing_written(database):
        response = await client.post(
            "/categories", content=content, headers={**JSON, "content-length": declared}
        )

    too_large(response)


async def test_a_body_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    for name in COMMANDS:
        path, body = command(shop, name)

        response = await client.post(path, content=padded(body, LIMIT), headers=JSON)

        assert response.status_code == (201 if path.count("/") == 1 else 200), response.text


@pytest.mark.parametrize(
    ("declared", "status"),
    [
        ("9" * 5000, 413),  # too many digits for int(): refused, not parsed
        ("0" * 30 + "70", 201),  # leading zeros: 70 bytes
        (b"\xb2", 201),  # "²".isdigit(), yet int("²") fails
        ("-1", 201),
        ("abc", 201),
    ],
    ids=["5000-digits", "leading-zeros", "superscript-two", "negative", "letters"],
)
async def test_a_malformed_content_length_is_no_server_error(
    client: httpx.AsyncClient, declared: str | bytes, status: int
) -> None:
    """A server refuses these before the app sees them; the app itself must not choke."""
    response = await client.post(
        "/categories",
        content=padded(factories.category_body(), 70),
        headers={**JSON, "content-length": declared},
    )

    assert response.status_code == status, response.text
    if status == 413:
        too_large(response)


async def test_the_api_keeps_answering_after_refusing_huge_bodies(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        too_large(await client.post("/orders", content=b"[" * FAR_OVER, headers=JSON))
        too_large(await client.post("/orders", content=chunked(b"[" * FAR_OVER), headers=JSON))

    created = await client.post("/categories", json=factories.category_body())

    assert created.status_code == 201
