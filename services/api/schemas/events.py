"""An aggregate's history: its outbox events in version order, with their publish status."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from outbox import EventHeaders, EventStatus, OutboxEvent


class EventPublic(BaseModel):
    id: UUID
    type: str
    version: int
    occurred_at: datetime
    payload: dict[str, Any]
    headers: EventHeaders
    status: EventStatus
    attempts: int
    published_at: datetime | None

    @classmethod
    def of(cls, event: OutboxEvent) -> EventPublic:
        return cls(
            id=event.id,
            type=event.type,
            version=event.aggregate_version,
            occurred_at=event.occurred_at,
            payload=event.payload,
            headers=event.headers,
            status=event.status,
            attempts=event.attempts,
            published_at=event.published_at,
        )


class EventHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "aggregate_type": "order",
                    "aggregate_id": "6650f1c2a4b5c6d7e8f90789",
                    "events": [
                        {
                            "id": "0b6f3c1e-7d2a-4c59-9a1e-2f3b4c5d6e7f",
                            "type": "order.placed",
                            "version": 1,
                            "occurred_at": "2026-11-25T20:00:00Z",
                            "payload": {"order_id": "6650f1c2a4b5c6d7e8f90789", "total": "25.00"},
                            "headers": {"correlation_id": "9f1c2e4b", "traceparent": None},
                            "status": "published",
                            "attempts": 1,
                            "published_at": "2026-11-25T20:00:01Z",
                        }
                    ],
                }
            ]
        }
    )

    aggregate_type: str
    aggregate_id: str
    events: list[EventPublic]

    @classmethod
    def of(cls, aggregate_type: str, aggregate_id: str, events: list[OutboxEvent]) -> EventHistory:
        return cls(
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            events=[EventPublic.of(event) for event in events],
        )
