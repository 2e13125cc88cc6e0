"""Transactions as MongoDB runs them: atomic whatever they start with, snapshot reads for
everyone else, write conflicts labelled transient, and nothing left of an aborted one.

They run against the suite's database: the dev database, or a replica set named by MONGODB_URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

Database = AsyncDatabase[dict[str, Any]]
Client = AsyncMongoClient[dict[str, Any]]


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(lambda c, s: c.count_documents({}, session=s), id="count_documents"),
        pytest.param(lambda c, s: c.aggregate([{"$match": {}}], session=s), id="aggregate"),
        pytest.param(lambda c, s: c.distinct("n", session=s), id="distinct"),
        pytest.param(lambda c, s: c.find_one({}, session=s), id="find"),
    ],
)
@pytest.mark.parametrize("ending", ["abort", "commit"])
async def test_a_transaction_is_atomic_whatever_its_first_command(
    mongo_client: Client, database: Database, first: Any, ending: str
) -> None:
    items = database["items"]
    await items.insert_one({"n": 0})
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await first(items, session)
        await items.insert_many([{"n": 1}, {"n": 2}], session=session)
        await items.update_one({"n": 0}, {"$set": {"seen": True}}, session=session)
        if ending == "abort":
            await session.abort_transaction()
        else:
            await session.commit_transaction()
    expected = 3 if ending == "commit" else 1
    assert await items.count_documents({}) == expected
    assert await items.count_documents({"seen": True}) == (1 if ending == "commit" else 0)


async def test_others_read_the_last_committed_state_at_once(
    mongo_client: Client, database: Database, mongodb_url: str
) -> None:
    items = database["items"]
    await items.insert_one({"_id": 1, "v": "committed"})
    async with AsyncMongoClient(mongodb_url) as other:
        theirs = other[database.name]["items"]
        async with mongo_client.start_session() as session:
            await session.start_transaction()
            await items.update_one({"_id": 1}, {"$set": {"v": "open"}}, session=session)
            await items.insert_one({"_id": 2}, session=session)
            # Not a wait behind the open transaction: an answer at once, without its writes.
            assert await asyncio.wait_for(theirs.find_one({"_id": 1}), 2) == {
                "_id": 1,
                "v": "committed",
            }
            assert await asyncio.wait_for(theirs.count_documents({}), 2) == 1
            await theirs.insert_one({"_id": 3})  # a write elsewhere goes through at once
            # The transaction keeps reading its own snapshot: not the later commit.
            assert await items.count_documents({}, session=session) == 2
            await session.commit_transaction()
        assert await theirs.find_one({"_id": 1}) == {"_id": 1, "v": "open"}
        assert await theirs.count_documents({}) == 3


async def test_a_write_write_conflict_is_a_transient_write_conflict(
    mongo_client: Client, database: Database
) -> None:
    items = database["items"]
    await items.insert_one({"_id": "x", "n": 0})
    async with mongo_client.start_session() as first, mongo_client.start_session() as second:
        await first.start_transaction()
        await second.start_transaction()
        await items.update_one({"_id": "x"}, {"$inc": {"n": 1}}, session=first)
        with pytest.raises(OperationFailure) as failure:
            await items.update_one({"_id": "x"}, {"$inc": {"n": 10}}, session=second)
        assert failure.value.code == 112
        assert failure.value.has_error_label("TransientTransactionError")
        await first.commit_transaction()
    assert await items.find_one({"_id": "x"}) == {"_id": "x", "n": 1}


async def test_a_write_to_a_document_changed_since_the_snapshot_conflicts(
    mongo_client: Client, database: Database
) -> None:
    items = database["items"]
    await items.insert_one({"_id": "x", "n": 0})
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await items.find_one({"_id": "x"}, session=session)  # the snapshot is taken
        await items.update_one({"_id": "x"}, {"$set": {"n": 5}})  # committed after it
        with pytest.raises(OperationFailure) as failure:
            await items.update_one({"_id": "x"}, {"$inc": {"n": 1}}, session=session)
        assert failure.value.has_error_label("TransientTransactionError")
    assert await items.find_one({"_id": "x"}) == {"_id": "x", "n": 5}


async def test_a_plain_write_waits_for_the_transaction_holding_its_document(
    mongo_client: Client, database: Database
) -> None:
    items = database["items"]
    await items.insert_one({"_id": "x", "n": 0})
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await items.update_one({"_id": "x"}, {"$inc": {"n": 1}}, session=session)
        plain = asyncio.create_task(items.update_one({"_id": "x"}, {"$inc": {"n": 10}}))
        await asyncio.sleep(0.2)
        assert not plain.done()
        await session.commit_transaction()
    await asyncio.wait_for(plain, 5)
    assert await items.find_one({"_id": "x"}) == {"_id": "x", "n": 11}


async def test_with_transaction_retries_conflicts_until_every_unit_commits(
    mongo_client: Client, database: Database
) -> None:
    items = database["items"]

    async def one(n: int) -> None:
        async def unit(session: Any) -> None:
            await items.insert_one({"n": n}, session=session)
            await items.update_one(
                {"_id": "counter"}, {"$inc": {"value": 1}}, upsert=True, session=session
            )

        async with mongo_client.start_session() as session:
            await session.with_transaction(unit)

    await asyncio.gather(*(one(n) for n in range(30)))
    assert await items.count_documents({"n": {"$exists": True}}) == 30
    assert await items.find_one({"_id": "counter"}) == {"_id": "counter", "value": 30}


async def test_a_collection_created_in_an_aborted_transaction_vanishes(
    mongo_client: Client, database: Database
) -> None:
    await database["other"].insert_one({"keep": True})
    fresh = database["fresh"]
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        await fresh.insert_one({"n": 1}, session=session)
        assert "fresh" not in await database.list_collection_names()
        await session.abort_transaction()
    assert await database.list_collection_names() == ["other"]
    assert await fresh.count_documents({}) == 0
    assert (await fresh.update_one({"n": 1}, {"$set": {"n": 2}})).matched_count == 0
    assert await (await fresh.aggregate([{"$match": {}}])).to_list() == []
    await fresh.insert_one({"n": 3})
    assert await fresh.count_documents({}) == 1
