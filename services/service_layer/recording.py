"""Domain events go into the outbox of the running transaction."""

from __future__ import annotations

import outbox
from services.domain.aggregate import DomainEvent


async def record_events(*events: DomainEvent) -> None:
    for event in events:
        await outbox.record(
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            name=event.name,
            payload=event.payload(),
        )
