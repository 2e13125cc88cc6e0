"""The outbox store against the real database: retention, exact marking, failures, re-queueing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from outbox.events import EventStatus
from relay.records import ref_of
from relay.store import OutboxStore, Published
from tests.relay.support import record_many

Database = AsyncDatabase[dict[str, object]]
DAY = 24 * 3600


def store(database: Database, retention: int | None = None) -> OutboxStore:
    return OutboxStore(database, retention_seconds=retention)  # type: ignore[arg-type]


async def ttl_of(database: Database) -> int | None:
    for spec in (await database["outbox"].index_information()).values():
        if [(field, int(order)) for field, order in spec["key"]] == [("published_at", 1)]:
            return int(spec["expireAfterSeconds"])
    return None


async def confirmed(database: Database, aggregate_id: str, first: int, last: int) -> Published:
    """Versions first..last of order `aggregate_id` as the publisher reports them confirmed."""
    query = {"aggregate_id": aggregate_id, "aggregate_version": {"$gte": first, "$lte": last}}
    documents = await database["outbox"].find(query).sort("aggregate_version", 1).to_list()
    ids = tuple(document["_id"] for document in documents)
    return Published(("order", aggregate_id), first, last, ids)


async def statuses(database: Database, aggregate_id: str) -> list[str]:
    documents = (
        await database["outbox"]
        .find({"aggregate_id": aggregate_id})
        .sort("aggregate_version", 1)
        .to_list()
    )
    return [str(document["status"]) for document in documents]


async def test_by_default_every_event_is_kept_no_ttl_index(database: Database) -> None:
    await store(database).prepare()
    names = set(await database["outbox"].index_information())
    assert await ttl_of(database) is None
    assert {"aggregate_version_unique", "status_occurred_at", "status"} <= names


async def test_an_opted_in_retention_is_a_ttl_index_that_follows_the_setting(
    database: Database,
) -> None:
    await store(database, retention=3 * DAY).prepare()
    assert await ttl_of(database) == 3 * DAY
    await store(database, retention=3 * DAY).prepare()  # idempotent
    await store(database, retention=DAY).prepare()  # a changed setting changes the index
    assert await ttl_of(database) == DAY


async def test_retention_off_drops_a_former_ttl_index_and_says_so(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await store(database, retention=DAY).prepare()  # as an earlier version left it
    with caplog.at_level(logging.INFO, logger="boundbox.relay.retention"):
        await store(database).prepare()
        await store(database).prepare()  # nothing left to drop: nothing said
    assert await ttl_of(database) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "boundbox.relay.retention"]
    assert len(lines) == 1, lines
    assert "every published event is now kept" in lines[0]


async def test_marking_touches_exactly_the_confirmed_versions(
    recording: None, database: Database
) -> None:
    await record_many("order", ["a", "a", "a", "a", "b", "b"])
    outbox = store(database)
    a_1_2 = await confirmed(database, "a", 1, 2)
    marked = await outbox.mark_published([a_1_2, await confirmed(database, "b", 1, 1)])
    assert marked == 3
    assert await statuses(database, "a") == ["published", "published", "pending", "pending"]
    assert await statuses(database, "b") == ["published", "pending"]
    published = await database["outbox"].find_one({"aggregate_id": "a", "aggregate_version": 1})
    assert published is not None and isinstance(published["published_at"], datetime)
    assert await outbox.mark_published([a_1_2]) == 0  # only once


async def test_failures_back_off_then_park_and_retry_failed_requeues(
    recording: None, database: Database
) -> None:
    await record_many("order", ["a", "b"])
    outbox = store(database)
    retry_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    pending = await outbox.pending(range(64), excluding=[], limit=10)
    first = next(document for document in pending if document["aggregate_id"] == "a")
    await outbox.record_failure(
        first, ref_of(first), error="returned", retry_at=retry_at, park=False
    )

    retrying = await database["outbox"].find_one({"aggregate_id": "a"})
    assert retrying is not None
    assert (retrying["status"], retrying["attempts"], retrying["last_error"]) == (
        "pending",
        1,
        "returned",
    )
    assert retrying["available_at"] == retry_at  # a datetime, not a string
    assert await outbox.blocked(range(64)) == {("order", "a"): retry_at}
    assert [
        d["aggregate_id"] for d in await outbox.pending(range(64), excluding=["a"], limit=10)
    ] == ["b"]

    await outbox.record_failure(
        retrying, ref_of(retrying), error="again", retry_at=retry_at, park=True
    )
    assert await outbox.blocked(range(64)) == {("order", "a"): None}
    assert await outbox.count(EventStatus.FAILED) == 1

    assert await outbox.requeue_failed() == 1
    requeued = await database["outbox"].find_one({"aggregate_id": "a"})
    assert requeued is not None
    assert (requeued["status"], requeued["attempts"]) == ("pending", 0)
    assert isinstance(requeued["available_at"], datetime)
    assert await outbox.blocked(range(64)) == {}


async def test_unpublished_lists_pending_and_failed_events_of_the_aggregates_asked(
    recording: None, database: Database
) -> None:
    await record_many("order", ["a", "a", "b"])
    await record_many("invoice", ["a"], name="issued")
    outbox = store(database)
    await outbox.mark_published([await confirmed(database, "a", 1, 1)])
    found = await outbox.unpublished([("order", "a"), ("order", "c")])
    assert sorted(found) == [("order", "a"), ("order", "c")]
    assert [d["aggregate_version"] for d in found[("order", "a")]] == [2]
    assert found[("order", "c")] == []
