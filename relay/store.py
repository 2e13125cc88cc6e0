"""The outbox collection as the relay reads and updates it.

Marking is exact: only the events the broker confirmed, by `_id` (one index lookup each, however
long their aggregates' histories), and only while still pending.
Datetimes are written with `$currentDate` (server time) or in replacements, never with `$set`:
the dev database stores a datetime given to `$set` as a string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from outbox.events import PARTITIONS, EventStatus, OutboxEvent
from relay.health import Dependency
from relay.mongo import translated
from relay.plan import Document
from relay.records import AggregateKey, EventRef
from relay.retention import ensure_retention

PENDING, PUBLISHED, FAILED = EventStatus.PENDING, EventStatus.PUBLISHED, EventStatus.FAILED


@dataclass(frozen=True, slots=True)
class Published:
    """Versions first..last of one aggregate, all confirmed by the broker: the documents `ids`."""

    key: AggregateKey
    first: int
    last: int
    ids: tuple[Any, ...]


class OutboxStore:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        *,
        retention_seconds: int | None = None,
        state: Dependency | None = None,
    ) -> None:
        """`retention_seconds`: how long published events are kept; None: forever."""
        self._events = database[OutboxEvent.Settings.name]
        self._retention = retention_seconds
        self._state = state

    async def prepare(self) -> None:
        """Creates the outbox's declared indexes, and the retention TTL index to match the
        setting (none, and a former one dropped, when every event is kept)."""
        async with translated(self._state):
            await self._events.create_indexes(OutboxEvent.Settings.indexes)
            await ensure_retention(self._events, self._retention)

    async def pending(
        self, partitions: Sequence[int], *, excluding: Sequence[str], limit: int
    ) -> Sequence[Document]:
        """The oldest pending events of `partitions`, leaving out the aggregates `excluding`."""
        query: dict[str, Any] = {"status": PENDING}
        if len(set(partitions)) < PARTITIONS:  # holding them all, the filter only costs
            query["partition"] = {"$in": list(partitions)}
        if excluding:
            query["aggregate_id"] = {"$nin": list(excluding)}
        order = [("occurred_at", 1), ("aggregate_version", 1)]
        async with translated(self._state):
            cursor = self._events.find(query, batch_size=limit).sort(order).limit(limit)
            return await cursor.to_list()

    async def unpublished(self, keys: Sequence[AggregateKey]) -> dict[AggregateKey, list[Document]]:
        """Every pending or failed event of the aggregates `keys`, by aggregate."""
        query = {  # a superset of `keys` (the index's prefix), without a slow `$or`
            "aggregate_type": {"$in": sorted({aggregate_type for aggregate_type, _ in keys})},
            "aggregate_id": {"$in": sorted({aggregate_id for _, aggregate_id in keys})},
            "status": {"$in": [PENDING, FAILED]},
        }
        async with translated(self._state):
            documents = await self._events.find(query).to_list()
        result: dict[AggregateKey, list[Document]] = {key: [] for key in keys}
        for document in documents:
            key = (document.get("aggregate_type"), document.get("aggregate_id"))
            if key in result:
                result[key].append(document)
        return result

    async def blocked(self, partitions: Sequence[int]) -> dict[AggregateKey, datetime | None]:
        """Aggregates with a parked event (None) or an event waiting to be retried (when)."""
        query = {
            "partition": {"$in": list(partitions)},
            "status": {"$in": [PENDING, FAILED]},
            "attempts": {"$gt": 0},  # parked events have had theirs
        }
        fields = {"aggregate_type": 1, "aggregate_id": 1, "available_at": 1, "status": 1}
        async with translated(self._state):
            documents = await self._events.find(query, fields).to_list()
        result: dict[AggregateKey, datetime | None] = {}
        for document in documents:
            key = (str(document.get("aggregate_type")), str(document.get("aggregate_id")))
            when = document.get("available_at")
            if document.get("status") == FAILED or not isinstance(when, datetime):
                result[key] = None  # parked: held until re-queued
            elif key not in result:
                result[key] = when
            elif (earlier := result[key]) is not None:
                result[key] = min(earlier, when)
        return result

    async def mark_published(self, published: Sequence[Published]) -> int:
        """Marks the confirmed events published, in one statement (one round trip)."""
        ids = [document_id for item in published for document_id in item.ids]
        if not ids:
            return 0
        update = {"$set": {"status": PUBLISHED}, "$currentDate": {"published_at": True}}
        async with translated(self._state):
            result = await self._events.update_many(
                {"_id": {"$in": ids}, "status": PENDING}, update
            )
        return result.modified_count

    async def record_failure(
        self, document: Document, ref: EventRef, *, error: str, retry_at: datetime, park: bool
    ) -> None:
        """Counts a failed attempt on the `document` as read; `park` sets it aside as failed."""
        if ref.version is not None:
            selector: dict[str, Any] = {
                "aggregate_type": ref.aggregate_type,
                "aggregate_id": ref.aggregate_id,
                "aggregate_version": ref.version,
            }
        else:
            selector = {"_id": ref.document_id}
        replacement = {field: value for field, value in document.items() if field != "_id"}
        replacement.update(
            attempts=ref.attempts + 1,
            last_error=error[:1000],
            available_at=retry_at,
            status=FAILED if park else PENDING,
        )
        async with translated(self._state):
            await self._events.replace_one({**selector, "status": PENDING}, replacement)

    async def oldest_pending(self) -> datetime | None:
        async with translated(self._state):
            oldest = await self._events.find_one(
                {"status": PENDING}, {"occurred_at": 1}, sort=[("occurred_at", 1)]
            )
        when = None if oldest is None else oldest.get("occurred_at")
        return when if isinstance(when, datetime) else None

    async def count(self, status: EventStatus) -> int:
        async with translated(self._state):
            return await self._events.count_documents({"status": status})

    async def requeue_failed(self) -> int:
        """Gives every parked event a fresh start: pending, no attempts, available now."""
        update = {
            "$set": {"status": PENDING, "attempts": 0},
            "$currentDate": {"available_at": True},
        }
        async with translated(self._state):
            result = await self._events.update_many({"status": FAILED}, update)
        return result.modified_count
