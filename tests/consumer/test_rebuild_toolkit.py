"""The rebuild toolkit with a stand-in projection (Tally, handlers one by one, no batch step).

Against the dev database (or MONGODB_URL); the sales rebuild is tested in tests/sales.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

import outbox
from outbox.consumer import (
    Consumer,
    Delivery,
    Handlers,
    Outcome,
    PoisonMessageError,
    generations,
    replay,
)
from outbox.consumer.applying import Projection
from outbox.consumer.building import switch
from outbox.consumer.decoding import canonical_sha256
from outbox.consumer.generations import Generation, pointers
from outbox.consumer.progress import Progress
from outbox.consumer.rebuild import Rebuild
from outbox.events import utc_now
from relay.messages import body
from relay.records import StoredEvent
from tests.consumer.conftest import ConsumerDb, Tally

COUNTED = "tally.counted"


def tally_handlers() -> Handlers:
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def count(delivery: Delivery) -> None:
        await generations.collection(Tally).update_one(
            {"_id": delivery.event.payload["key"]}, {"$inc": {"total": 1}}, upsert=True
        )

    return handlers


def rebuild_of(database: AsyncDatabase[Any]) -> Rebuild:
    projection = Projection(consumer=Consumer("tally", tally_handlers()), collections=("tallies",))
    return Rebuild(
        projection,
        database=database,
        events=database["outbox"],
        dedupe_window=timedelta(days=1),
        progress=Progress(io.StringIO()),
        chunk_size=7,
    )


async def count_events(keys: list[str]) -> None:
    for index, key in enumerate(keys):
        async with outbox.transaction():
            await outbox.record(
                aggregate_type="tally",
                aggregate_id=f"t{index}",
                name="counted",
                payload={"key": key},
            )


async def totals(database: AsyncDatabase[Any], collection: str) -> dict[str, int]:
    return {doc["_id"]: doc["total"] async for doc in database[collection].find()}


async def test_a_rebuild_builds_the_next_generation_and_the_live_consumer_follows_it(
    consumer_db: ConsumerDb,
) -> None:
    database = consumer_db.database
    await count_events(["a", "b", "a", "c", "a"] * 5)
    consumer = Consumer("tally", tally_handlers())
    first = await database["outbox"].find_one({"aggregate_id": "t0"})
    assert first is not None
    assert await consumer.apply(replay.delivery_of(first)) is Outcome.PROCESSED  # generation 0
    assert await totals(database, "tallies") == {"a": 1}

    summary = await rebuild_of(database).run()

    assert (summary.generation, summary.previous, summary.events) == (1, 0, 25)
    assert await totals(database, "tallies_g1") == {"a": 15, "b": 5, "c": 5}
    assert "tallies" not in await database.list_collection_names()
    # A delivery of an event the rebuild applied is a duplicate in the new generation...
    assert await consumer.apply(replay.delivery_of(first)) is Outcome.DUPLICATE
    # ...and a new event goes to it.
    await count_events(["z"])
    newest = await database["outbox"].find_one({"payload.key": "z"})
    assert newest is not None
    assert await consumer.apply(replay.delivery_of(newest)) is Outcome.PROCESSED
    assert (await totals(database, "tallies_g1"))["z"] == 1


async def test_a_stale_leftover_generation_is_abandoned_and_dropped(
    consumer_db: ConsumerDb,
) -> None:
    database = consumer_db.database
    await count_events(["a", "b"])
    long_ago = utc_now() - timedelta(days=30)
    await pointers(database).insert_one(
        {"_id": "tally", "active": 0, "building": 3, "building_since": long_ago, "last_built": 3}
    )
    await database["tallies_g3"].insert_one({"_id": "a", "total": 99})

    summary = await rebuild_of(database).run()

    assert (summary.generation, summary.resumed) == (4, False)
    assert await totals(database, "tallies_g4") == {"a": 1, "b": 1}
    assert "tallies_g3" not in await database.list_collection_names()


async def test_the_switch_and_a_live_transaction_never_both_commit_on_one_pointer(
    consumer_db: ConsumerDb,
) -> None:
    database = consumer_db.database
    await pointers(database).insert_one({"_id": "tally", "active": 0, "building": 1})
    entered, release = asyncio.Event(), asyncio.Event()

    async def live() -> Generation:
        async with outbox.transaction():
            generation = await generations.enter(database, "tally")
            entered.set()
            await release.wait()
        return generation

    task = asyncio.create_task(live())
    await entered.wait()
    with pytest.raises(PyMongoError) as caught:
        async with outbox.transaction():
            await switch(database, Generation("tally", 1))
    assert caught.value.has_error_label("TransientTransactionError")
    release.set()
    assert (await task).number == 0

    entered.clear()

    async def switching() -> None:
        async with outbox.transaction():
            await switch(database, Generation("tally", 1))
            entered.set()
            await release.wait()

    release.clear()
    task2 = asyncio.create_task(switching())
    await entered.wait()
    with pytest.raises(PyMongoError) as caught:
        async with outbox.transaction():
            await generations.enter(database, "tally")
    assert caught.value.has_error_label("TransientTransactionError")
    release.set()
    await task2
    async with outbox.transaction():  # the live consumer's retry
        assert await generations.enter(database, "tally") == Generation("tally", 1)


async def test_a_stored_event_hashes_like_the_message_the_relay_publishes(
    consumer_db: ConsumerDb,
) -> None:
    await count_events(["a"])
    stored = await consumer_db.database["outbox"].find_one({})
    assert stored is not None
    published = json.loads(body(StoredEvent.model_validate(stored), str(stored["_id"])))
    assert replay.delivery_of(stored).body_sha256 == canonical_sha256(published)


async def test_an_event_its_handler_refuses_is_left_out_and_counted_and_the_rest_applied(
    consumer_db: ConsumerDb,
) -> None:
    database = consumer_db.database
    await count_events(["a", "poison", "b", "a"])
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def count(delivery: Delivery) -> None:
        await generations.collection(Tally).update_one(
            {"_id": delivery.event.payload["key"]}, {"$inc": {"total": 1}}, upsert=True
        )
        if delivery.event.payload["key"] == "poison":  # after a write: the abort undoes it
            raise PoisonMessageError("hopeless")

    projection = Projection(consumer=Consumer("tally", handlers), collections=("tallies",))
    summary = await Rebuild(
        projection,
        database=database,
        events=database["outbox"],
        dedupe_window=timedelta(days=1),
        progress=Progress(io.StringIO()),
    ).run()

    assert (summary.events, summary.applied, summary.refused) == (4, 3, 1)
    assert await totals(database, "tallies_g1") == {"a": 2, "b": 1}
    assert await database["inbox_tally_g1"].count_documents({}) == 3
