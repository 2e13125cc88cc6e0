"""Change streams: insert, update, replace and delete events, update lookups, resume tokens."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

Database = AsyncDatabase[dict[str, Any]]


async def next_events(stream: Any, n: int) -> list[dict[str, Any]]:
    events = []
    while len(events) < n:
        event = await stream.try_next()
        if event is not None:
            events.append(event)
    return events


async def test_a_collection_stream_sees_every_kind_of_write(database: Database) -> None:
    items = database["items"]
    await items.insert_one({"_id": 0, "before": True})  # before the stream: not seen
    async with await items.watch(max_await_time_ms=200) as stream:
        await items.insert_one({"_id": 1, "n": 1})
        await items.update_one({"_id": 1}, {"$set": {"n": 2}, "$unset": {"gone": ""}})
        await items.replace_one({"_id": 1}, {"m": 3})
        await items.delete_one({"_id": 1})
        await database["elsewhere"].insert_one({"_id": 9})  # another collection: not seen
        events = await next_events(stream, 4)
    assert [e["operationType"] for e in events] == ["insert", "update", "replace", "delete"]
    assert all(e["ns"] == {"db": database.name, "coll": "items"} for e in events)
    assert all(e["documentKey"] == {"_id": 1} for e in events)
    assert events[0]["fullDocument"] == {"_id": 1, "n": 1}
    assert events[1]["updateDescription"]["updatedFields"] == {"n": 2}
    assert "fullDocument" not in events[1] or events[1]["fullDocument"] is None
    assert events[2]["fullDocument"] == {"_id": 1, "m": 3}
    tokens = [e["_id"] for e in events]
    assert len({str(t) for t in tokens}) == 4


async def test_update_lookup_gives_the_current_document(database: Database) -> None:
    items = database["items"]
    await items.insert_one({"_id": 1, "n": 1})
    async with await items.watch(full_document="updateLookup", max_await_time_ms=200) as stream:
        await items.update_one({"_id": 1}, {"$inc": {"n": 1}})
        (event,) = await next_events(stream, 1)
    assert event["fullDocument"] == {"_id": 1, "n": 2}


async def test_a_pipeline_filters_the_events(database: Database) -> None:
    items = database["items"]
    async with await items.watch(
        [{"$match": {"operationType": "insert"}}], max_await_time_ms=200
    ) as stream:
        await items.insert_one({"_id": 1})
        await items.update_one({"_id": 1}, {"$set": {"n": 1}})
        await items.insert_one({"_id": 2})
        events = await next_events(stream, 2)
    assert [e["documentKey"]["_id"] for e in events] == [1, 2]


async def test_a_pipeline_projects_and_reshapes_the_events(database: Database) -> None:
    items = database["items"]
    projected = [{"$match": {"operationType": "insert"}}, {"$project": {"operationType": 1}}]
    reshaped = [{"$match": {"fullDocument.n": {"$gt": 1}}}, {"$addFields": {"seen": True}}]
    async with (
        await items.watch(projected, max_await_time_ms=200) as plain,
        await items.watch(reshaped, max_await_time_ms=200) as expressive,
    ):
        await items.insert_one({"_id": 1, "n": 1})
        await items.update_one({"_id": 1}, {"$set": {"n": 2}})
        await items.insert_one({"_id": 2, "n": 2})
        projections = await next_events(plain, 2)
        [event] = await next_events(expressive, 1)
    assert [sorted(e) for e in projections] == [["_id", "operationType"]] * 2
    assert (event["documentKey"], event["seen"]) == ({"_id": 2}, True)


async def test_resume_after_and_start_after_continue_after_the_token(database: Database) -> None:
    items = database["items"]
    async with await items.watch(max_await_time_ms=200) as stream:
        await items.insert_many([{"_id": n} for n in range(3)])
        first, *_ = await next_events(stream, 3)
    for option in ("resume_after", "start_after"):
        async with await items.watch(max_await_time_ms=200, **{option: first["_id"]}) as stream:
            events = await next_events(stream, 2)
        assert [e["documentKey"]["_id"] for e in events] == [1, 2]


async def test_a_database_stream_sees_every_collection(database: Database) -> None:
    async with await database.watch(max_await_time_ms=200) as stream:
        await database["a"].insert_one({"_id": 1})
        await database["b"].insert_one({"_id": 2})
        events = await next_events(stream, 2)
    assert [e["ns"]["coll"] for e in events] == ["a", "b"]
