"""Read-only views of the outbox: an aggregate's history, and what is still unpublished."""

from __future__ import annotations

from datetime import datetime

from beanie import SortDirection

from outbox import EventStatus, OutboxEvent


async def events_of(aggregate_type: str, aggregate_id: str) -> list[OutboxEvent]:
    """The events of one aggregate, in version order."""
    return (
        await OutboxEvent.find({"aggregate_type": aggregate_type, "aggregate_id": aggregate_id})
        .sort([("aggregate_version", SortDirection.ASCENDING)])
        .to_list()
    )


async def pending_summary() -> tuple[int, datetime | None]:
    """How many events wait for the relay, and when the oldest of them occurred."""
    pending = {"status": EventStatus.PENDING.value}
    count = await OutboxEvent.find(pending).count()
    oldest = (
        await OutboxEvent.find(pending)
        .sort([("occurred_at", SortDirection.ASCENDING)])
        .limit(1)
        .to_list()
    )
    return count, (oldest[0].occurred_at if oldest else None)
