"""record() and the outbox document; every misuse gets a clear error of the library's own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

import outbox
from outbox import OutboxEvent
from tests.outbox.conftest import Item


async def record_one(**overrides: Any) -> OutboxEvent:
    fields: dict[str, Any] = {
        "aggregate_type": "item",
        "aggregate_id": "agg-1",
        "name": "created",
        "payload": {"n": 1},
    }
    return await outbox.record(**(fields | overrides))


@pytest.mark.usefixtures("app_client")
async def test_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(outbox.NoTransactionError, match="needs an active transaction"):
        await record_one()
    async with outbox.session_scope():  # a session alone is not enough
        with pytest.raises(outbox.NoTransactionError):
            await record_one()
    assert await OutboxEvent.count() == 0


@pytest.mark.usefixtures("app_client")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payload": {"price": Decimal("1.10")}}, "not JSON"),
        ({"payload": {"ratio": float("nan")}}, "not JSON"),
        ({"name": "Created!"}, "name 'Created!'"),
        ({"aggregate_type": "Order Line"}, "aggregate_type"),
        ({"aggregate_id": ""}, "aggregate_id"),
    ],
)
async def test_invalid_events_are_refused_and_roll_back(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(outbox.InvalidEventError, match=message):
        async with outbox.transaction():
            await Item(name="with a bad event").insert()
            await record_one(**overrides)
    assert await Item.count() == 0
    assert await OutboxEvent.count() == 0


async def test_no_client_configured() -> None:
    outbox.use_client(None)

    @outbox.transactional()
    async def handler() -> None:
        raise AssertionError("must not run")

    with pytest.raises(outbox.NotConfiguredError, match="use_client"):
        await handler()


def test_current_session_outside_a_scope() -> None:
    with pytest.raises(outbox.NoSessionError):
        outbox.current_session()


def test_library_errors_share_one_root() -> None:
    from boundbox.errors import BoundboxError

    for error in (
        outbox.NotConfiguredError,
        outbox.NoSessionError,
        outbox.NoTransactionError,
        outbox.InvalidEventError,
        outbox.TransactionFailedError,
    ):
        assert issubclass(error, outbox.OutboxError)
        assert issubclass(error, BoundboxError)


@pytest.mark.usefixtures("app_client")
async def test_versions_are_contiguous_and_unique_per_aggregate() -> None:
    for _ in range(3):
        async with outbox.transaction():
            await record_one()
    async with outbox.transaction():
        await record_one(aggregate_id="agg-2")
    events = await OutboxEvent.find(OutboxEvent.aggregate_id == "agg-1").to_list()
    assert sorted(e.aggregate_version for e in events) == [1, 2, 3]
    assert len({e.partition for e in events}) == 1  # one aggregate, one partition

    duplicate = OutboxEvent(**events[0].model_dump(exclude={"id", "revision_id"}))
    with pytest.raises(DuplicateKeyError):
        await duplicate.insert()  # (aggregate_id, aggregate_version) is unique


class ItemCreate(BaseModel):
    name: str


@pytest.mark.usefixtures("app_client")
async def test_a_decorated_fastapi_endpoint_keeps_injection_and_commits() -> None:
    app = FastAPI()

    @app.post("/items", status_code=201)
    @outbox.transactional()
    async def create(body: ItemCreate, tag: str = "none") -> dict[str, str]:
        item = await Item(name=f"{body.name}:{tag}").insert()
        await record_one(aggregate_id=str(item.id), payload={"tag": tag})
        return {"id": str(item.id)}

    schema = app.openapi()["paths"]["/items"]["post"]
    assert [p["name"] for p in schema["parameters"]] == ["tag"]
    assert "requestBody" in schema

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.post("/items?tag=x", json={"name": "pen"})
        invalid = await http.post("/items", json={"nom": "pen"})

    assert response.status_code == 201
    assert invalid.status_code == 422
    [item] = await Item.find_all().to_list()
    assert item.name == "pen:x"
    [event] = await OutboxEvent.find_all().to_list()
    assert event.aggregate_id == response.json()["id"] == str(item.id)
