"""Bulk `$set` / `$currentDate` updates: done in SQL by the dev database, same results.

The engine-level tests compare the SQL path with the engine's own, document by
document, on twin in-memory engines. The wire-level tests state MongoDB's semantics for such
updates and run against whatever server is under test (real MongoDB too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import neosqlite
import pytest
from neosqlite.collection.query_engine import QueryEngine
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.devdb import fast_updates

Database = AsyncDatabase[dict[str, object]]

CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"status": "pending", "key": {"$in": ["k1", "k2"]}, "version": {"$gte": 1, "$lte": 2}},
        {"$set": {"status": "published"}, "$currentDate": {"published_at": True}},
    ),
    ({"status": "published"}, {"$set": {"status": "published"}}),  # matches, changes nothing
    ({"key": "k1"}, {"$set": {"status": "done", "note": None}}),
    ({"key": "k1"}, {"$set": {"note": None}}),
    ({"key": {"$nin": ["k1", "k2"]}}, {"$set": {"n": 7, "label": "x"}}),
    ({"n": {"$gt": 15}}, {"$set": {"version": 0, "key": "k0"}}),  # breaks the unique index
    ({}, {"$set": {"touched": "yes"}, "$currentDate": {"at": {"$type": "date"}}}),
    ({"tags": "red", "n": {"$lt": 3}}, {"$set": {"w": 1}}),  # a scalar against an array
    ({"key": "k3"}, {"$set": {"flag": True, "ratio": 0.5}}),  # not plain: the engine's path
    ({"meta.kind": "a"}, {"$set": {"status": "nested filter"}}),  # not plain either
]


def engine(fast: bool) -> Any:
    QueryEngine.update_many = fast_updates.fast_update_many if fast else fast_updates._original
    collection = neosqlite.Connection(":memory:")["events"]
    collection.create_index([("status", 1)])
    collection.create_index([("key", 1), ("version", 1)], unique=True)
    collection.insert_many(
        [
            {
                "status": "pending",
                "key": f"k{n % 5}",
                "version": n // 5,
                "n": n,
                "tags": ["red"],
                "meta": {"kind": "a"},
            }
            for n in range(20)
        ]
    )
    return collection


@pytest.fixture
def restore_engine() -> Iterator[None]:
    yield
    QueryEngine.update_many = fast_updates._original


def outcomes(collection: Any) -> tuple[list[object], list[dict[str, Any]]]:
    results: list[object] = []
    for query, update in CASES:
        try:
            result = collection.update_many(query, update)
            results.append((result.matched_count, result.modified_count))
        except Exception as e:  # the engine's own error, compared as such
            results.append(type(e).__name__)
    documents = []
    for document in collection.find({}).sort("n", 1):
        stamps = {f: type(document.pop(f, None)).__name__ for f in ("published_at", "at")}
        document.pop("_id")
        documents.append(document | stamps)
    return results, documents


@pytest.mark.usefixtures("restore_engine")
def test_the_sql_path_changes_what_the_engine_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = outcomes(engine(fast=False))
    handed_over: list[dict[str, Any]] = []
    original = fast_updates._original

    def engine_path(engine: Any, query: dict[str, Any], *args: Any) -> Any:
        handed_over.append(query)
        return original(engine, query, *args)

    monkeypatch.setattr(fast_updates, "_original", engine_path)
    assert outcomes(engine(fast=True)) == expected
    # The unique-index breach, the boolean and the nested filter went to the engine.
    assert handed_over == [CASES[5][0], CASES[8][0], CASES[9][0]]
    results, _ = expected
    assert results[0] == (4, 4) and results[1] == (4, 0) and results[5] == "IntegrityError"


def test_only_plain_updates_and_filters_take_the_sql_path() -> None:
    assert fast_updates.plain_update({"$set": {"s": "x", "n": 1, "z": None}})
    assert fast_updates.plain_update({"$currentDate": {"at": True}})
    assert not fast_updates.plain_update({"$set": {"flag": True}})  # JSON true, not 1
    assert not fast_updates.plain_update({"$set": {"a.b": 1}})
    assert not fast_updates.plain_update({"$set": {"_id": 1}})
    assert not fast_updates.plain_update({"$set": {"at": 1}, "$currentDate": {"at": True}})
    assert not fast_updates.plain_update({"$inc": {"n": 1}})
    assert not fast_updates.plain_update({"$currentDate": {"at": {"$type": "timestamp"}}})
    assert fast_updates.plain_filter({"s": "x", "n": {"$gte": 1, "$lte": 3}, "k": {"$in": ["a"]}})
    assert not fast_updates.plain_filter({"at": {"$lt": datetime.now(UTC)}})
    assert not fast_updates.plain_filter({"$or": [{"s": "x"}]})
    assert not fast_updates.plain_filter({"s": {"$regex": "x"}})
    assert not fast_updates.plain_filter({"_id": "x"})


# -- over the wire: MongoDB's semantics, whichever server is under test -------------------------


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
