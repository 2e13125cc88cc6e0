"""The outbox event document, and the stream document that numbers each aggregate's events."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from outbox.context import EventHeaders

PARTITIONS = 64
"""Events are spread over this many partitions by aggregate; a relay owns whole partitions."""


def partition_of(aggregate_type: str, aggregate_id: str) -> int:
    return zlib.crc32(f"{aggregate_type}:{aggregate_id}".encode()) % PARTITIONS


def utc_now() -> datetime:
    """Now, truncated to BSON's millisecond precision so stored and in-memory values agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class EventStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"


class OutboxEvent(Document):
    """One event, written in the transaction of its state change, published later by the relay."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)  # type: ignore[assignment]  # message_id
    type: str  # "<aggregate_type>.<name>", e.g. "order.placed"
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int = Field(ge=1)  # 1, 2, 3… per aggregate
    occurred_at: datetime = Field(default_factory=utc_now)
    payload: dict[str, Any]
    headers: EventHeaders = Field(default_factory=EventHeaders)
    routing_key: str
    partition: int = Field(ge=0, lt=PARTITIONS)  # all events of an aggregate share one

    # Relay bookkeeping. Relays lease whole partitions (collection `outbox_leases`), not events.
    status: EventStatus = EventStatus.PENDING
    attempts: int = 0  # failed publication attempts
    available_at: datetime = Field(default_factory=utc_now)  # not retried before this
    last_error: str | None = None
    published_at: datetime | None = None  # kept forever unless RELAY_RETENTION_SECONDS is set

    class Settings:
        name = "outbox"
        indexes = [  # noqa: RUF012  # Beanie reads a plain class attribute
            IndexModel(
                [
                    ("aggregate_type", pymongo.ASCENDING),
                    ("aggregate_id", pymongo.ASCENDING),
                    ("aggregate_version", pymongo.ASCENDING),
                ],
                unique=True,
                name="aggregate_version_unique",
            ),
            IndexModel(
                [("status", pymongo.ASCENDING), ("occurred_at", pymongo.ASCENDING)],
                name="status_occurred_at",
            ),
            # The dev database uses single-field indexes only: without this one, every relay
            # poll scans the whole outbox (~50 ms at 20,000 events instead of ~1 ms).
            IndexModel([("status", pymongo.ASCENDING)], name="status"),
        ]


class OutboxStream(Document):
    """The last version recorded per aggregate: the source of contiguous event versions."""

    id: str  # type: ignore[assignment]  # "<aggregate_type>:<aggregate_id>"
    version: int = 0

    class Settings:
        name = "outbox_streams"


DOCUMENT_MODELS: list[type[Document]] = [OutboxEvent, OutboxStream]
