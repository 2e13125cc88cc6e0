"""Unique indexes as MongoDB keeps them: within one command, within one transaction (where a
key a staged write gave up is free again) and between a transaction and the committed state.

They run against the suite's database: the dev database, or a replica set named by MONGODB_URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

Database = AsyncDatabase[dict[str, Any]]
Client = AsyncMongoClient[dict[str, Any]]
KEY = [("kind", 1), ("name", 1), ("version", 1)]


async def events(database: Database) -> AsyncCollection[dict[str, Any]]:
    collection = database["events"]
    await collection.create_index(KEY, unique=True, name="kind_name_version_unique")
    return collection


def event(name: str, version: int) -> dict[str, Any]:
    return {"kind": "order", "name": name, "version": version}


async def test_a_duplicate_inside_one_insert_many_stops_an_ordered_insert_there(
    database: Database,
) -> None:
    collection = await events(database)
    batch = [event(f"o{n}", 1) for n in range(500)] + [event("o7", 1), event("late", 1)]
    with pytest.raises(BulkWriteError) as raised:
        await collection.insert_many(batch)
    assert raised.value.details["nInserted"] == 500
    assert raised.value.details["writeErrors"][0]["code"] == 11000
    assert raised.value.details["writeErrors"][0]["index"] == 500
    assert await collection.count_documents({}) == 500


async def test_an_unordered_insert_many_keeps_every_distinct_document(database: Database) -> None:
    collection = await events(database)
    batch = [event("a", 1), event("a", 1), event("a", 2), event("b", 1), event("a", 2)]
    with pytest.raises(BulkWriteError) as raised:
        await collection.insert_many(batch, ordered=False)
    assert [error["index"] for error in raised.value.details["writeErrors"]] == [1, 4]
    assert await collection.count_documents({}) == 3


async def test_a_transaction_sees_the_keys_its_own_writes_took_and_freed(
    mongo_client: Client, database: Database
) -> None:
    collection = await events(database)
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await collection.insert_one({"_id": 1, **event("a", 1)}, session=session)
        await collection.update_one({"_id": 1}, {"$set": {"version": 2}}, session=session)
        await collection.insert_one({"_id": 2, **event("a", 1)}, session=session)  # freed
        with pytest.raises(DuplicateKeyError):
            await collection.insert_one({"_id": 3, **event("a", 2)}, session=session)
        await session.abort_transaction()
    assert await collection.count_documents({}) == 0

    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await collection.insert_one({"_id": 4, **event("b", 1)}, session=session)
        await collection.delete_one({"_id": 4}, session=session)
        await collection.insert_one({"_id": 5, **event("b", 1)}, session=session)  # freed
        await session.commit_transaction()
    assert [doc["_id"] async for doc in collection.find({}, {"_id": 1})] == [5]


async def test_two_transactions_taking_one_key_cannot_both_commit(
    mongo_client: Client, database: Database
) -> None:
    collection = await events(database)
    async with (
        mongo_client.start_session() as first,
        mongo_client.start_session() as second,
    ):
        await first.start_transaction()
        await second.start_transaction()
        await collection.insert_one(event("a", 1), session=first)
        code = None
        try:  # MongoDB answers at the write; a server may also answer at the commit
            await collection.insert_one(event("a", 1), session=second)
        except OperationFailure as e:
            code = e.code
        await first.commit_transaction()
        if code is None:
            with pytest.raises(OperationFailure) as raised:
                await second.commit_transaction()
            code = raised.value.code
        assert code in (11000, 112)
    assert await collection.count_documents({}) == 1
