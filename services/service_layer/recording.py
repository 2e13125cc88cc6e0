"""Domain events go into the outbox of the running transaction, at their aggregates' versions."""

from __future__ import annotations

import outbox
from services.domain.aggregate import Aggregate, DomainEvent


async def record_events(*changes: tuple[DomainEvent, Aggregate]) -> None:
    """Records each event at the version its aggregate has now, all in one insert.

    A command changes each aggregate once and saves its document only at the version it read,
    so an aggregate's versions follow one another without the outbox's stream counters (and
    their two round trips); the outbox refuses a version recorded twice.
    """
    await outbox.record_many(
        outbox.NewEvent(
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            name=event.name,
            payload=event.payload(),
            version=aggregate.version,
        )
        for event, aggregate in changes
    )
