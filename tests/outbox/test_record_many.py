"""record_many(): several events of several aggregates, contiguous versions, all or nothing."""

from __future__ import annotations

import pytest
from beanie.odm.utils.dump import get_dict
from pymongo.errors import DuplicateKeyError

import outbox
from outbox import NewEvent, OutboxEvent, OutboxStream
from outbox.recording import stored
from tests.outbox.conftest import Item


def event(aggregate_id: str, name: str = "changed", n: int = 0) -> NewEvent:
    return NewEvent(aggregate_type="item", aggregate_id=aggregate_id, name=name, payload={"n": n})


async def versions() -> list[tuple[str, int, int]]:
    found = await OutboxEvent.find_all().to_list()
    return sorted((e.aggregate_id, e.aggregate_version, e.payload["n"]) for e in found)


@pytest.mark.usefixtures("app_client")
async def test_versions_continue_each_aggregates_stream_in_the_given_order() -> None:
    async with outbox.transaction():
        await outbox.record(
            aggregate_type="item", aggregate_id="a", name="created", payload={"n": 0}
        )
    async with outbox.transaction():
        recorded = await outbox.record_many(
            [event("a", n=1), event("b", n=2), event("a", n=3), event("c", n=4)]
        )
    assert [(e.aggregate_id, e.aggregate_version) for e in recorded] == [
        ("a", 2),
        ("b", 1),
        ("a", 3),
        ("c", 1),
    ]
    assert await versions() == [("a", 1, 0), ("a", 2, 1), ("a", 3, 3), ("b", 1, 2), ("c", 1, 4)]
    streams = {s.id: s.version for s in await OutboxStream.find_all().to_list()}
    assert streams == {"item:a": 3, "item:b": 1, "item:c": 1}


@pytest.mark.usefixtures("app_client")
async def test_one_invalid_event_writes_none_of_them() -> None:
    with pytest.raises(outbox.InvalidEventError, match="name 'Bad'"):
        async with outbox.transaction():
            await Item(name="kept only with its events").insert()
            await outbox.record_many([event("a"), event("b", name="Bad")])
    assert await Item.count() == 0
    assert await OutboxEvent.count() == 0
    assert await OutboxStream.count() == 0


@pytest.mark.usefixtures("app_client")
async def test_an_aborted_batch_leaves_the_streams_as_they_were() -> None:
    with pytest.raises(RuntimeError):
        async with outbox.transaction():
            await outbox.record_many([event("a"), event("b")])
            raise RuntimeError("the unit of work fails after recording")
    async with outbox.transaction():
        recorded = await outbox.record_many([event("b"), event("a")])
    assert [e.aggregate_version for e in recorded] == [1, 1]


@pytest.mark.usefixtures("app_client")
async def test_outside_a_transaction_and_empty_batches() -> None:
    with pytest.raises(outbox.NoTransactionError):
        await outbox.record_many([event("a")])
    async with outbox.transaction():
        assert await outbox.record_many([]) == []
    assert await OutboxEvent.count() == 0


@pytest.mark.usefixtures("app_client")
async def test_events_are_stored_as_beanie_encodes_them_and_read_back() -> None:
    async with outbox.transaction():
        (recorded,) = await outbox.record_many([event("a", n=7)])
    assert stored(recorded) == get_dict(recorded, to_db=True, keep_nulls=True)
    read = await OutboxEvent.get(recorded.id)
    assert read is not None
    assert read.model_dump() == recorded.model_dump()


def versioned(aggregate_id: str, version: int, n: int = 0) -> NewEvent:
    return NewEvent(
        aggregate_type="item",
        aggregate_id=aggregate_id,
        name="changed",
        payload={"n": n},
        version=version,
    )


@pytest.mark.usefixtures("app_client")
async def test_events_with_their_versions_are_recorded_at_them_without_a_stream() -> None:
    async with outbox.transaction():
        recorded = await outbox.record_many(
            [versioned("a", 4, n=1), versioned("b", 1, n=2), versioned("a", 5, n=3)]
        )
    assert [(e.aggregate_id, e.aggregate_version) for e in recorded] == [
        ("a", 4),
        ("b", 1),
        ("a", 5),
    ]
    assert await versions() == [("a", 4, 1), ("a", 5, 3), ("b", 1, 2)]
    assert await OutboxStream.count() == 0  # no stream advanced, none read


@pytest.mark.usefixtures("app_client")
async def test_a_second_event_at_a_recorded_version_is_refused_with_its_state_change() -> None:
    async with outbox.transaction():
        await outbox.record_many([versioned("a", 1, n=1)])
    with pytest.raises(DuplicateKeyError, match="aggregate_version"):
        async with outbox.transaction():
            await Item(name="kept only with its events").insert()
            await outbox.record_many([versioned("a", 1, n=2)])
    assert await Item.count() == 0
    assert await versions() == [("a", 1, 1)]


@pytest.mark.usefixtures("app_client")
@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([versioned("a", 0)], "version 0 of item:a must be 1 or more"),
        ([versioned("a", 2), versioned("a", 4)], "version 4 of item:a does not follow 2"),
        ([versioned("a", 2), versioned("a", 2)], "version 2 of item:a does not follow 2"),
        ([versioned("a", 1), event("a")], "item:a come all with a version or all without"),
        ([event("a"), versioned("a", 2)], "item:a come all with a version or all without"),
    ],
    ids=["zero", "gap", "twice", "versioned-then-not", "not-then-versioned"],
)
async def test_versions_that_cannot_be_an_aggregates_next_write_nothing(
    events: list[NewEvent], message: str
) -> None:
    with pytest.raises(outbox.InvalidEventError, match=message):
        async with outbox.transaction():
            await Item(name="kept only with its events").insert()
            await outbox.record_many(events)
    assert await Item.count() == 0
    assert await OutboxEvent.count() == 0
