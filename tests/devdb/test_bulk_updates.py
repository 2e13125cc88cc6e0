"""Bulk updates over the wire: MongoDB's counts, stored dates and rollback, on any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Database = AsyncDatabase[dict[str, object]]


async def seeded(database: Database) -> Any:
    events = database["events"]
    await events.create_index([("status", 1)])
    await events.insert_many([{"key": f"k{n % 4}", "n": n, "status": "pending"} for n in range(12)])
    return events


async def test_a_bulk_status_flip_with_a_stamp_counts_and_stores_a_date(
    database: Database,
) -> None:
    events = await seeded(database)
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = await events.update_many(
        {"status": "pending", "key": {"$in": ["k1", "k2"]}, "n": {"$gte": 2}},
        {"$set": {"status": "published"}, "$currentDate": {"published_at": True}},
    )
    assert (result.matched_count, result.modified_count) == (5, 5)
    published = await events.find({"status": "published"}).to_list()
    assert sorted(d["n"] for d in published) == [2, 5, 6, 9, 10]
    for document in published:
        stamp = document["published_at"]
        assert isinstance(stamp, datetime)
        assert before <= stamp <= datetime.now(UTC)
    assert await events.count_documents({"status": "pending"}) == 7


async def test_a_set_that_changes_nothing_matches_without_modifying(database: Database) -> None:
    events = await seeded(database)
    await events.update_many({"key": "k0"}, {"$set": {"status": "done"}})
    again = await events.update_many({"key": {"$in": ["k0", "k1"]}}, {"$set": {"status": "done"}})
    assert (again.matched_count, again.modified_count) == (6, 3)


async def test_an_aborted_transaction_keeps_nothing_of_a_bulk_update(
    mongo_client: AsyncMongoClient[dict[str, object]], database: Database
) -> None:
    events = await seeded(database)
    async with mongo_client.start_session() as session:
        await session.start_transaction()
        result = await events.update_many(
            {"status": "pending"},
            {"$set": {"status": "published"}, "$currentDate": {"published_at": True}},
            session=session,
        )
        assert result.modified_count == 12
        await session.abort_transaction()
    assert await events.count_documents({"status": "pending"}) == 12
    assert await events.count_documents({"published_at": {"$exists": True}}) == 0
