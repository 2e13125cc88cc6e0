"""Domain events go into the outbox of the running transaction."""

from __future__ import annotations

import outbox
from services.domain.aggregate import DomainEvent


async def record_events(*events: DomainEvent) -> None:
    """Records the events in their order, all in one go (a few round trips, however many)."""
    await outbox.record_many(
        outbox.NewEvent(
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            name=event.name,
            payload=event.payload(),
        )
        for event in events
    )
