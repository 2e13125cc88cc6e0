"""MongoDB 8's client-level bulkWrite: writes on several collections in one command, in a
transaction or each on its own, with per-operation results and errors as MongoDB gives them.

They run against the suite's database: the dev database, or a server named by MONGODB_URL
(8.0 or later).
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient, DeleteOne, InsertOne, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ClientBulkWriteException

Database = AsyncDatabase[dict[str, Any]]
Client = AsyncMongoClient[dict[str, Any]]


async def test_one_command_writes_several_collections(
    mongo_client: Client, database: Database
) -> None:
    orders, events = f"{database.name}.orders", f"{database.name}.events"
    await database["orders"].insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": 2}])
    result = await mongo_client.bulk_write(
        [
            InsertOne({"_id": 3, "n": 3}, namespace=orders),
            InsertOne({"_id": "e1"}, namespace=events),
            UpdateOne({"_id": 1}, {"$inc": {"n": 10}}, namespace=orders),
            UpdateOne({"_id": 9}, {"$set": {"n": 9}}, namespace=orders),  # matches nothing
            UpdateMany({"n": {"$gte": 2}}, {"$set": {"big": True}}, namespace=orders),
            UpdateOne({"_id": 5}, {"$set": {"n": 5}}, upsert=True, namespace=orders),
            DeleteOne({"_id": 2}, namespace=orders),
        ],
        verbose_results=True,
    )
    assert (result.inserted_count, result.matched_count, result.modified_count) == (2, 4, 4)
    assert (result.upserted_count, result.deleted_count) == (1, 1)
    assert [result.update_results[i].matched_count for i in (2, 3, 4)] == [1, 0, 3]
    assert result.update_results[5].upserted_id == 5
    found = await database["orders"].find({}, {"_id": 1, "n": 1, "big": 1}).sort("_id").to_list()
    assert found == [
        {"_id": 1, "n": 11, "big": True},
        {"_id": 3, "n": 3, "big": True},
        {"_id": 5, "n": 5},
    ]
    assert await database["events"].count_documents({}) == 1


@pytest.mark.parametrize("ordered", [True, False])
async def test_a_duplicate_key_is_a_write_error_and_ordered_stops_there(
    mongo_client: Client, database: Database, ordered: bool
) -> None:
    items = f"{database.name}.items"
    await database["items"].insert_one({"_id": 1})
    with pytest.raises(ClientBulkWriteException) as raised:
        await mongo_client.bulk_write(
            [
                InsertOne({"_id": 0}, namespace=items),
                InsertOne({"_id": 1}, namespace=items),
                InsertOne({"_id": 2}, namespace=items),
            ],
            ordered=ordered,
        )
    [error] = dict(raised.value.details)["writeErrors"]
    assert (error["idx"], error["code"]) == (1, 11000)
    kept = {doc["_id"] for doc in await database["items"].find().to_list()}
    assert kept == ({0, 1} if ordered else {0, 1, 2})


async def test_in_a_transaction_it_commits_or_aborts_with_the_rest(
    mongo_client: Client, database: Database
) -> None:
    items, other = f"{database.name}.items", f"{database.name}.other"
    await database["items"].insert_one({"_id": 1, "n": 0})
    async with mongo_client.start_session() as session:
        async with await session.start_transaction():
            await database["items"].find_one({"_id": 1}, session=session)
            await mongo_client.bulk_write(
                [
                    UpdateOne({"_id": 1}, {"$inc": {"n": 1}}, namespace=items),
                    InsertOne({"_id": "a"}, namespace=other),
                ],
                session=session,
            )
            assert await database["other"].count_documents({}) == 0  # not yet committed
        await session.start_transaction()
        with pytest.raises(ClientBulkWriteException) as raised:
            await mongo_client.bulk_write(
                [
                    InsertOne({"_id": "b"}, namespace=other),
                    InsertOne({"_id": 1}, namespace=items),  # taken: the transaction fails
                ],
                session=session,
            )
        await session.abort_transaction()
    # The failed write fails the command (the dev database) or is its write error (MongoDB).
    details = dict(raised.value.details)
    error, write_errors = details.get("error"), details.get("writeErrors") or [{}]
    assert (error.code if error is not None else write_errors[0].get("code")) == 11000
    assert await database["items"].find_one({"_id": 1}) == {"_id": 1, "n": 1}
    assert [doc["_id"] for doc in await database["other"].find().to_list()] == ["a"]
