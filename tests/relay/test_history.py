"""The relay's queries do not read published history: with a few thousand published events in
the histories of the very aggregates that have pending ones (a popular product's), each command
examines no more documents than there are unpublished events (the dev database's own planner
says which it examines).

`python -m bench history` measures the drain beside a million published events; this test
guards the property without timing. It runs an in-process dev database, whatever MONGODB_URL
says, because it asks that server's planner (`devdb.query.candidate_keys`) which documents each
command the relay sends would read: an index lookup's candidates, or every document (a scan).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from devdb.query import candidate_keys
from devdb.server import DevDatabase
from outbox.events import PARTITIONS, EventStatus, partition_of
from relay.records import ref_of
from relay.store import OutboxStore, Published
from tests.support.processes import free_port

HISTORY = 3000
PENDING_AGGREGATES, VERSIONS = 40, 3
Examined = list[tuple[str, int | None]]


def event(aggregate_id: str, version: int, *, published: bool) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(days=1 if published else 0, seconds=-version)
    return {
        "_id": uuid.uuid4(),
        "type": "order.changed",
        "aggregate_type": "order",
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "occurred_at": when,
        "payload": {"n": version},
        "headers": {"correlation_id": None, "causation_id": None, "traceparent": None},
        "routing_key": "order.changed",
        "partition": partition_of("order", aggregate_id),
        "status": EventStatus.PUBLISHED if published else EventStatus.PENDING,
        "attempts": 0,
        "available_at": when,
        "last_error": None,
        "published_at": when if published else None,
    }


class Planner(monitoring.CommandListener):
    """For every outbox command sent, how many documents the server's planner would read
    (None: all of them, a scan), worked out as the command leaves, against the live store."""

    def __init__(self, server: DevDatabase) -> None:
        self.server = server
        self.examined: dict[str, Examined] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if command.get(event.command_name) != "outbox":
            return
        collection = self.server.store.collection(event.database_name, "outbox")
        if collection is None:
            return
        for name, spec in filters(event.command_name, command):
            keys = candidate_keys(collection, spec) if spec else None
            found = None if keys is None else len(keys)
            self.examined.setdefault(event.database_name, []).append((name, found))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def filters(name: str, command: Any) -> list[tuple[str, dict[str, Any]]]:
    if name in ("find", "count"):
        return [(name, dict(command.get("filter") or command.get("query") or {}))]
    if name == "aggregate":
        first = (command.get("pipeline") or [{}])[0]
        return [(name, dict(first.get("$match") or {}))]
    if name in ("update", "delete"):
        return [(name, dict(statement["q"])) for statement in command[f"{name}s"]]
    return []


@pytest.fixture
async def server() -> AsyncIterator[tuple[DevDatabase, str]]:
    database = DevDatabase(data_dir=None)
    port = free_port()
    listening = await database.start("127.0.0.1", port)
    try:
        yield database, f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        listening.close()
        await database.close()


async def relay_queries(database: AsyncDatabase[dict[str, Any]], history: int) -> None:
    """Every query the relay's store runs, on an outbox whose pending aggregates have `history`
    published events between them before their pending ones."""
    events = database["outbox"]
    store = OutboxStore(database)
    await store.prepare()
    published = history // PENDING_AGGREGATES
    if history:
        await events.insert_many(
            [
                event(f"p-{n}", version, published=True)
                for version in range(1, published + 1)
                for n in range(PENDING_AGGREGATES)
            ]
        )
    await events.insert_many(
        [
            event(f"p-{n}", published + version, published=False)
            for version in range(1, VERSIONS + 1)
            for n in range(PENDING_AGGREGATES)
        ]
    )
    pending = await store.pending(range(PARTITIONS), excluding=[], limit=500)
    assert len(pending) == PENDING_AGGREGATES * VERSIONS
    await store.pending(range(PARTITIONS // 2), excluding=["p-1", "p-2"], limit=50)
    keys = sorted({ref_of(document).key for document in pending})
    await store.unpublished(keys[:10])
    await store.blocked(range(PARTITIONS))
    await store.oldest_pending()
    await store.count(EventStatus.PENDING)
    first = published + 1
    confirmed = [
        Published(ref.key, first, first, (ref.document_id,))
        for ref in map(ref_of, pending)
        if ref.version == first and ref.key in keys[:20]
    ]
    assert await store.mark_published(confirmed) == 20
    failing = next(document for document in pending if document["aggregate_version"] == first + 1)
    retry_at = datetime.now(UTC) + timedelta(minutes=1)
    await store.record_failure(failing, ref_of(failing), error="x", retry_at=retry_at, park=True)
    await store.requeue_failed()


async def test_the_relay_examines_the_same_documents_with_or_without_history(
    server: tuple[DevDatabase, str],
) -> None:
    devdb, url = server
    planner = Planner(devdb)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, uuidRepresentation="standard", tz_aware=True, event_listeners=[planner]
    )
    try:
        await relay_queries(client["without_history"], 0)
        await relay_queries(client["with_history"], HISTORY)
    finally:
        await client.close()
    for name, examined in planner.examined.items():
        scans = [command for command, found in examined if found is None]
        assert not scans, f"{name}: commands that scan the outbox: {scans}"
        most = max(found for _, found in examined if found is not None)
        assert most <= PENDING_AGGREGATES * VERSIONS, f"{name}: {examined}"
    assert len(planner.examined["with_history"]) == len(planner.examined["without_history"])
