from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.services import factories

DB = AsyncDatabase[dict[str, Any]]


async def test_creating_a_category_stores_it_with_its_event(
    client: httpx.AsyncClient, database: DB
) -> None:
    response = await client.post("/categories", json={"name": "Kitchen", "description": "Pans"})

    assert response.status_code == 201
    created = response.json()
    assert created == {"id": created["id"], "name": "Kitchen", "description": "Pans", "version": 1}
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/categories/{created['id']}"
    [event] = await factories.events(database)
    assert (event["type"], event["aggregate_type"]) == ("category.created", "category")
    assert (event["aggregate_id"], event["aggregate_version"]) == (created["id"], 1)
    assert event["payload"] == {
        "category_id": created["id"],
        "name": "Kitchen",
        "description": "Pans",
    }


async def test_the_description_is_optional(client: httpx.AsyncClient) -> None:
    response = await client.post("/categories", json={"name": "Garden"})

    assert response.status_code == 201
    assert response.json()["description"] == ""


async def test_reading_a_category(client: httpx.AsyncClient) -> None:
    created = await factories.category(client)

    response = await client.get(f"/categories/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == '"1"'


@pytest.mark.parametrize("category_id", ["6650f1c2a4b5c6d7e8f90123", "not-an-id", "6650F1C2"])
async def test_an_unknown_or_malformed_id_is_404(
    client: httpx.AsyncClient, category_id: str
) -> None:
    response = await client.get(f"/categories/{category_id}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": "Kitchen", "description": "x" * 2001}, "description"),
        ({"name": "Kitchen", "colour": "red"}, "colour"),
    ],
)
async def test_invalid_fields_are_422_field_by_field(
    client: httpx.AsyncClient, database: DB, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/categories", json=body)

    assert response.status_code == 422
    assert ["body", field] in [error["loc"] for error in response.json()["errors"]]
    assert await factories.count(database, "categories") == 0
    assert await factories.events(database) == []


async def test_a_category_s_events(client: httpx.AsyncClient) -> None:
    created = await factories.category(client)

    response = await client.get(f"/categories/{created['id']}/events")

    assert response.status_code == 200
    history = response.json()
    assert (history["aggregate_type"], history["aggregate_id"]) == ("category", created["id"])
    [event] = history["events"]
    assert (event["type"], event["version"], event["status"]) == ("category.created", 1, "pending")
    assert event["attempts"] == 0 and event["published_at"] is None


async def test_events_of_an_unknown_category_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/categories/6650f1c2a4b5c6d7e8f90123/events")

    assert response.status_code == 404
