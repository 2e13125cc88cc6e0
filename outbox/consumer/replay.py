"""Reading the event store (the `outbox` collection) back as deliveries, for a rebuild.

A stored event becomes the Delivery the relay's message of it would have parsed into: the
same envelope, hence the same canonical sha256 in the inbox, so a message applied by a
rebuild and delivered again afterwards is a plain duplicate, not a conflicting one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from outbox.consumer.decoding import canonical_sha256
from outbox.consumer.envelope import Delivery, Event, summary
from outbox.consumer.errors import PoisonMessageError
from outbox.events import EventStatus

ORDER = [("aggregate_type", 1), ("aggregate_id", 1), ("aggregate_version", 1)]
"""Per-aggregate version order (the outbox's unique index)."""

STATUSES = [status.value for status in EventStatus]
"""Every status: a committed event is a fact, published or not. Naming them all lets MongoDB
use the outbox's (status, occurred_at) index for a window."""


def iso_utc(moment: datetime) -> str:
    """The relay's form of a time: ISO 8601 in UTC with milliseconds and a Z."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def envelope_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON envelope the relay publishes for a stored event."""
    occurred_at = document.get("occurred_at")
    return {
        "id": str(document.get("_id")),
        "type": document.get("type"),
        "aggregate_type": document.get("aggregate_type"),
        "aggregate_id": document.get("aggregate_id"),
        "aggregate_version": document.get("aggregate_version"),
        "occurred_at": iso_utc(occurred_at) if isinstance(occurred_at, datetime) else None,
        "payload": document.get("payload"),
    }


def delivery_of(document: Mapping[str, Any]) -> Delivery:
    """The stored event as a first delivery; PoisonMessageError when it is no event."""
    body = envelope_of(document)
    try:
        event = Event.model_validate({**body, "occurred_at": document.get("occurred_at")})
    except ValidationError as e:
        raise PoisonMessageError(f"stored event {body['id']}: {summary(e)}") from e
    headers = document.get("headers") or {}
    traceparent = headers.get("traceparent")
    return Delivery(
        event=event,
        message_id=str(event.id),
        routing_key=str(document.get("routing_key") or event.type),
        correlation_id=headers.get("correlation_id") or str(event.id),
        traceparent=traceparent if isinstance(traceparent, str) else None,
        previous_deliveries=0,
        body_sha256=canonical_sha256(body),
    )


def selection(types: Sequence[str], since: datetime | None) -> dict[str, Any]:
    """The events of `types`, all of them or those that occurred at `since` or later."""
    if since is None:
        return {"type": {"$in": list(types)}}
    return {
        "status": {"$in": STATUSES},
        "occurred_at": {"$gte": since},
        "type": {"$in": list(types)},
    }


async def count(
    events: AsyncCollection[Any], types: Sequence[str], since: datetime | None = None
) -> int:
    return await events.count_documents(selection(types, since))


async def chunks(
    events: AsyncCollection[Any],
    types: Sequence[str],
    *,
    since: datetime | None = None,
    size: int = 500,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The selected events in per-aggregate version order, `size` at a time."""
    chunk: list[dict[str, Any]] = []
    cursor = events.find(selection(types, since)).sort(ORDER).batch_size(size)
    async for document in cursor:
        chunk.append(document)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
