"""Queued writes: sent together just before the commit (one command on MongoDB 8, one per
collection before it), failing the transaction as their own commands would, retried with it.

Runs over the real wire protocol: the dev database, or a replica set named by MONGODB_URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from beanie import init_beanie
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

import outbox
from outbox import OutboxEvent, writes
from tests.outbox.conftest import Item

Client = AsyncMongoClient[dict[str, Any]]
pytestmark = pytest.mark.usefixtures("app_client")


class Commands(monitoring.CommandListener):
    """The names of the commands a client sends (as the driver reports them)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def commands(
    app_client: Client, mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> AsyncIterator[Commands]:
    """The commands of the test's client, once the rest of its setup is done."""
    listener = Commands()
    client: Client = AsyncMongoClient(
        mongodb_url, uuidRepresentation="standard", tz_aware=True, event_listeners=[listener]
    )
    models = [Item, *outbox.DOCUMENT_MODELS]
    await init_beanie(database=client[database.name], document_models=models)
    outbox.use_client(client)
    try:
        yield listener
    finally:
        outbox.use_client(app_client)
        await init_beanie(database=app_client[database.name], document_models=models)
        await client.close()


def items() -> Any:
    return Item.get_pymongo_collection()


def others() -> Any:
    return Item.get_pymongo_collection().database["others"]


class ChangedError(Exception):
    pass


async def write_everything(*, version_read: int = 0) -> None:
    """An item's update at the version read, a new item, an event and another collection's
    document: four writes, on three collections."""
    await outbox.update_later(
        items(),
        {"_id": "kept", "version": version_read},
        {"$set": {"name": "updated", "version": version_read + 1}},
        or_else=lambda: ChangedError("the item changed meanwhile"),
    )
    await outbox.insert_later(items(), {"_id": "new", "name": "new"})
    await outbox.record(
        aggregate_type="item", aggregate_id="new", name="created", payload={}, version=1
    )
    await outbox.insert_later(others(), {"_id": "reply"})


async def test_queued_writes_commit_together_in_one_command_before_the_commit(
    commands: Commands,
) -> None:
    await items().insert_one({"_id": "kept", "name": "old", "version": 0})

    @outbox.transactional()
    async def unit_of_work() -> None:
        await items().find_one({"_id": "kept"})
        await write_everything()
        assert await others().count_documents({}) == 0  # queued, not yet sent

    commands.names.clear()
    await unit_of_work()
    assert commands.names == ["find", "aggregate", "bulkWrite", "commitTransaction"]
    assert await items().find_one({"_id": "kept"}) == {
        "_id": "kept",
        "name": "updated",
        "version": 1,
    }
    assert await items().count_documents({"_id": "new"}) == 1
    assert await OutboxEvent.count() == 1
    assert await others().count_documents({}) == 1


@pytest.mark.parametrize("server", ["MongoDB 8", "before MongoDB 8"])
async def test_an_update_that_matches_nothing_fails_the_transaction_with_or_else(
    app_client: Client, server: str
) -> None:
    if server != "MongoDB 8":
        writes._older_servers.add(app_client)  # as if bulkWrite were refused: per collection
    await items().insert_one({"_id": "kept", "name": "old", "version": 3})
    try:
        with pytest.raises(ChangedError):
            await outbox.run_in_transaction(lambda: write_everything(version_read=2))
    finally:
        writes._older_servers.discard(app_client)
    assert await items().count_documents({}) == 1
    assert await OutboxEvent.count() == 0
    assert await others().count_documents({}) == 0


@pytest.mark.parametrize("server", ["MongoDB 8", "before MongoDB 8"])
async def test_a_taken_key_is_a_duplicate_key_error_and_nothing_commits(
    app_client: Client, server: str
) -> None:
    if server != "MongoDB 8":
        writes._older_servers.add(app_client)
    await items().insert_one({"_id": "kept", "name": "old", "version": 0})
    await others().insert_one({"_id": "reply"})
    try:
        with pytest.raises(DuplicateKeyError):
            await outbox.run_in_transaction(write_everything)
    finally:
        writes._older_servers.discard(app_client)
    assert await items().find_one({"_id": "kept"}) == {"_id": "kept", "name": "old", "version": 0}
    assert await OutboxEvent.count() == 0


async def test_before_mongodb_8_each_collection_takes_one_command(commands: Commands) -> None:
    await items().insert_one({"_id": "kept", "name": "old", "version": 0})
    client = outbox.get_client()
    writes._older_servers.add(client)
    try:
        commands.names.clear()
        await outbox.run_in_transaction(write_everything)
    finally:
        writes._older_servers.discard(client)
    # The item's update and insert (one bulk write: a command each), the event, the other.
    assert commands.names == ["update", "insert", "insert", "insert", "commitTransaction"]
    assert await OutboxEvent.count() == 1
    assert await others().count_documents({}) == 1


async def test_a_transient_failure_of_the_queued_writes_retries_the_unit_of_work(
    fail_command: Any,
) -> None:
    calls = 0

    async def unit_of_work() -> None:
        nonlocal calls
        calls += 1
        await write_everything()

    await items().insert_one({"_id": "kept", "name": "old", "version": 0})
    await fail_command(["bulkWrite"], times=1, code=112, labels=["TransientTransactionError"])
    await outbox.run_in_transaction(unit_of_work)
    assert calls == 2
    assert await OutboxEvent.count() == 1
    assert await items().count_documents({}) == 2


async def test_outside_a_transaction_scope_a_write_is_sent_at_once() -> None:
    await outbox.insert_later(others(), {"_id": 1}, {"_id": 2})
    assert await others().count_documents({}) == 2
