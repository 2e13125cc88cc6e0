"""What every rejected request must look like, and proof that it wrote nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

DB = AsyncDatabase[dict[str, Any]]
LIMIT = 64 * 1024  # create_app's default max_body_bytes
JSON_MEDIA_TYPES = ("application/json", "application/problem+json")


@dataclass(frozen=True, slots=True)
class Shop:
    category_id: str
    product_ids: tuple[str, str]
    order_id: str


def json_error(response: httpx.Response) -> Any:
    """A 4xx whose body is JSON, declared as such: what any error must be, never a 5xx."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    media_type = response.headers.get("content-type", "").partition(";")[0].strip()
    assert media_type in JSON_MEDIA_TYPES, media_type
    return json.loads(response.content)


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The API's own error document (RFC 9457) with exactly this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def error_locs(body: dict[str, Any]) -> list[list[str | int]]:
    return [error["loc"] for error in body["errors"]]


async def contents(database: DB) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection (outbox included), in a comparable order."""
    names = sorted(await database.list_collection_names())
    return {name: await database[name].find().sort("_id", 1).to_list() for name in names}


@asynccontextmanager
async def nothing_written(database: DB) -> AsyncIterator[None]:
    """Fails unless the block leaves every collection exactly as it found it."""
    before = await contents(database)
    yield
    assert await contents(database) == before
