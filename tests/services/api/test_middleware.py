import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from tests.services import factories

DB = AsyncDatabase[dict[str, Any]]
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
LIMIT = 64 * 1024


async def test_the_request_id_is_echoed_and_correlates_every_event(
    client: httpx.AsyncClient, database: DB
) -> None:
    mug = await factories.product(client)

    response = await client.post(
        "/orders",
        json=factories.order_body((mug["id"], 1)),
        headers={"X-Request-ID": "req-123", "traceparent": TRACEPARENT},
    )

    assert response.headers["x-request-id"] == "req-123"
    [event] = await factories.events(database, type="order.placed")
    assert event["headers"] == {
        "correlation_id": "req-123",
        "causation_id": None,
        "traceparent": TRACEPARENT,
    }


async def test_a_request_id_is_generated_when_absent_or_unusable(
    client: httpx.AsyncClient, database: DB
) -> None:
    absent = await client.post("/categories", json=factories.category_body())
    unusable = await client.post(
        "/categories", json=factories.category_body(), headers={"X-Request-ID": "x" * 500}
    )

    ids = [absent.headers["x-request-id"], unusable.headers["x-request-id"]]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1]
    events = await factories.events(database)
    assert sorted(e["headers"]["correlation_id"] for e in events) == sorted(ids)


async def test_an_invalid_traceparent_is_dropped(client: httpx.AsyncClient, database: DB) -> None:
    await client.post(
        "/categories", json=factories.category_body(), headers={"traceparent": "00-zz-01"}
    )

    [event] = await factories.events(database)
    assert event["headers"]["traceparent"] is None


async def test_errors_carry_the_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/products/nope", headers={"X-Request-ID": "req-404"})

    assert response.headers["x-request-id"] == "req-404"
    assert response.json()["request_id"] == "req-404"


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    client: httpx.AsyncClient, database: DB
) -> None:
    not_even_json = b"{" * (LIMIT + 1)

    response = await client.post(
        "/categories", content=not_even_json, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await factories.count(database, "categories") == 0


async def test_a_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        body = json.dumps(factories.category_body(description="x" * LIMIT)).encode()
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await client.post(
        "/categories", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_within_the_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/categories", json=factories.category_body(description="x" * 2000)
    )

    assert response.status_code == 201
