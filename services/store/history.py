"""Whole-store scans for the audit: every aggregate's document and every aggregate's events,
both in aggregate id order, so the two can be walked side by side in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from beanie import SortDirection

from outbox import OutboxEvent
from services.domain.aggregate import Aggregate
from services.domain.history import RecordedEvent
from services.store.catalog import category_from, product_from
from services.store.documents import CategoryDocument, OrderDocument, ProductDocument
from services.store.orders import order_from

BATCH = 1_000


async def documents(aggregate_type: str) -> AsyncIterator[Aggregate]:
    """Every stored aggregate of the type, as the domain reads it, in id order."""
    by_id = [("_id", SortDirection.ASCENDING)]
    if aggregate_type == "category":
        async for category in CategoryDocument.find_all().sort(by_id):
            yield category_from(category)
    elif aggregate_type == "product":
        async for product in ProductDocument.find_all().sort(by_id):
            yield product_from(product)
    elif aggregate_type == "order":
        async for order in OrderDocument.find_all().sort(by_id):
            yield order_from(order)
    else:
        raise ValueError(f"unknown aggregate type {aggregate_type!r}")


async def histories(aggregate_type: str) -> AsyncIterator[tuple[str, list[RecordedEvent]]]:
    """Every aggregate of the type that has events: its id and its events in version order."""
    cursor = OutboxEvent.get_pymongo_collection().find(
        {"aggregate_type": aggregate_type},
        {"type": 1, "aggregate_id": 1, "aggregate_version": 1, "occurred_at": 1, "payload": 1},
        sort=[("aggregate_id", 1), ("aggregate_version", 1)],
        batch_size=BATCH,
    )
    current: str | None = None
    events: list[RecordedEvent] = []
    async for raw in cursor:
        event = _recorded(raw)
        if event.aggregate_id != current and current is not None:
            yield current, events
            events = []
        current = event.aggregate_id
        events.append(event)
    if current is not None:
        yield current, events


def _recorded(raw: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        type=raw["type"],
        aggregate_id=raw["aggregate_id"],
        version=raw["aggregate_version"],
        occurred_at=raw["occurred_at"],
        payload=raw["payload"],
    )


async def counts() -> dict[str, int]:
    """How many documents of each aggregate type and how many events the store holds."""
    return {
        "category": await CategoryDocument.get_pymongo_collection().estimated_document_count(),
        "product": await ProductDocument.get_pymongo_collection().estimated_document_count(),
        "order": await OrderDocument.get_pymongo_collection().estimated_document_count(),
        "events": await OutboxEvent.get_pymongo_collection().estimated_document_count(),
    }


async def published_ids() -> set[str]:
    """The message ids of every event the relay marked published."""
    cursor = OutboxEvent.get_pymongo_collection().find(
        {"status": "published"}, {"_id": 1}, batch_size=BATCH * 10
    )
    return {str(raw["_id"]) async for raw in cursor}
