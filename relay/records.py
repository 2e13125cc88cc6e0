"""Outbox documents as the relay reads them: validated values, and what a broken one still tells.

The relay reads raw documents with pymongo instead of Beanie's `OutboxEvent`: a Beanie
document needs global initialisation, and one broken document must fail alone, not the batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbox.context import EventHeaders
from outbox.events import PARTITIONS, EventStatus
from relay.errors import UnpublishableEventError

type AggregateKey = tuple[str, str]
"""(aggregate_type, aggregate_id): the events of one aggregate are published in version order."""


class StoredEvent(BaseModel):
    """An outbox event as stored by `outbox.record()`, with the bookkeeping the relay reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID = Field(alias="_id")
    type: str = Field(min_length=1, max_length=255)
    aggregate_type: str = Field(min_length=1)
    aggregate_id: str = Field(min_length=1)
    aggregate_version: int = Field(ge=1)
    occurred_at: datetime
    payload: dict[str, Any]
    headers: EventHeaders = Field(default_factory=EventHeaders)
    routing_key: str = Field(min_length=1, max_length=255)
    partition: int = Field(ge=0, lt=PARTITIONS)
    status: EventStatus = EventStatus.PENDING
    attempts: int = Field(default=0, ge=0)
    available_at: datetime | None = None

    @property
    def key(self) -> AggregateKey:
        return (self.aggregate_type, self.aggregate_id)


@dataclass(frozen=True, slots=True)
class EventRef:
    """What identifies an outbox document for the relay's updates, even when it is broken.

    `version` is None only for a document without a usable aggregate and version: it can only
    be addressed by its `_id`, and is ordered against nothing.
    """

    aggregate_type: str
    aggregate_id: str
    version: int | None
    document_id: Any
    attempts: int = 0
    status: str = EventStatus.PENDING

    @property
    def key(self) -> AggregateKey:
        return (self.aggregate_type, self.aggregate_id)


def ref_of(document: Mapping[str, Any]) -> EventRef:
    """The reference of any outbox document, however broken its other fields are."""
    aggregate_type = document.get("aggregate_type")
    aggregate_id = document.get("aggregate_id")
    version = document.get("aggregate_version")
    attempts = document.get("attempts")
    usable = (
        isinstance(aggregate_type, str)
        and isinstance(aggregate_id, str)
        and isinstance(version, int)
        and not isinstance(version, bool)
        and version >= 1
    )
    return EventRef(
        aggregate_type=aggregate_type if isinstance(aggregate_type, str) else "",
        aggregate_id=aggregate_id if isinstance(aggregate_id, str) else "",
        version=version if usable else None,
        document_id=document.get("_id"),
        attempts=attempts if isinstance(attempts, int) and attempts >= 0 else 0,
        status=str(document.get("status", EventStatus.PENDING)),
    )


def parse(document: Mapping[str, Any]) -> StoredEvent:
    """The validated event; raises UnpublishableEventError naming the first invalid field."""
    try:
        return StoredEvent.model_validate(document)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise UnpublishableEventError(f"invalid outbox document: {where}: {first['msg']}") from e
