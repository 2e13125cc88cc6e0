"""Beanie and the outbox library wired to this test's own database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import outbox


class Item(Document):
    """A stand-in domain document."""

    name: str

    class Settings:
        name = "items"


@pytest.fixture
async def app_client(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client with an app name of its own, so failpoints hit only this test's commands."""
    app_name = f"test-{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_url, uuidRepresentation="standard", tz_aware=True, appname=app_name
    )
    await init_beanie(
        database=client[database.name], document_models=[Item, *outbox.DOCUMENT_MODELS]
    )
    outbox.use_client(client)
    try:
        yield client
    finally:
        outbox.use_client(None)
        await client.close()


@pytest.fixture
async def fail_command(
    app_client: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[Any]:
    """`await fail_command(["insert"], times=1, code=112, labels=[...])` arms mongod's failpoint."""

    async def arm(
        commands: list[str], *, times: int | None, code: int, labels: list[str] | None = None
    ) -> None:
        data: dict[str, Any] = {
            "failCommands": commands,
            "errorCode": code,
            "appName": app_client.options.pool_options.metadata["application"]["name"],
        }
        if labels is not None:
            data["errorLabels"] = labels
        mode: Any = "alwaysOn" if times is None else {"times": times}
        await app_client.admin.command(
            {"configureFailPoint": "failCommand", "mode": mode, "data": data}
        )

    yield arm
    await app_client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
