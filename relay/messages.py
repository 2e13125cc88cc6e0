"""The delivery contract: one persistent AMQP message per outbox event. Pure: no I/O.

- routing key: the event's `routing_key`;
- properties: `message_id` (the event id), `type`, `content_type` application/json,
  `timestamp` (when the event occurred), `app_id` "boundbox", `correlation_id` (the recording
  context's, else the event id: the event starts a conversation), persistent delivery, and
  `user_id`, the relay's broker user: RabbitMQ refuses any other, so consumers can trust it;
- headers: `aggregate_type`, `aggregate_id`, `aggregate_version`, and `traceparent` and
  `causation_id` when the event carries them;
- body: the JSON envelope {id, type, aggregate_type, aggregate_id, aggregate_version,
  occurred_at (ISO 8601, UTC), payload}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pamqp.commands import Basic

from relay.errors import UnpublishableEventError
from relay.records import StoredEvent

APP_ID = "boundbox"
CONTENT_TYPE = "application/json"
PERSISTENT = 2  # AMQP delivery mode
_JSON = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready to publish, and where it goes: the AMQP body and properties as sent."""

    routing_key: str
    body: bytes
    properties: Basic.Properties


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds (BSON's precision), e.g. 2026-01-02T03:04:05.678Z."""
    offset = moment.utcoffset()  # None when naive: pymongo without tz_aware returns naive UTC
    if offset:
        moment -= offset
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def envelope(event: StoredEvent, event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": event.type,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "aggregate_version": event.aggregate_version,
        "occurred_at": iso_utc(event.occurred_at),
        "payload": event.payload,
    }


def body(event: StoredEvent, event_id: str) -> bytes:
    """The UTF-8 JSON envelope; raises UnpublishableEventError when the payload is not JSON."""
    try:
        text = _JSON.encode(envelope(event, event_id))
    except (TypeError, ValueError) as e:
        raise UnpublishableEventError(f"payload is not JSON: {e}") from e
    return text.encode()


def headers(event: StoredEvent) -> dict[str, Any]:
    result: dict[str, Any] = {
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "aggregate_version": event.aggregate_version,
    }
    if event.headers.traceparent:
        result["traceparent"] = event.headers.traceparent
    if event.headers.causation_id:
        result["causation_id"] = event.headers.causation_id
    return result


def build(event: StoredEvent, *, user_id: str | None = None) -> Outgoing:
    """The message for `event` from broker user `user_id`; raises UnpublishableEventError when
    it cannot be serialized."""
    event_id = str(event.id)
    properties = Basic.Properties(
        headers=headers(event),
        content_type=CONTENT_TYPE,
        delivery_mode=PERSISTENT,
        correlation_id=event.headers.correlation_id or event_id,
        message_id=event_id,
        timestamp=event.occurred_at,
        message_type=event.type,
        app_id=APP_ID,
        user_id=user_id,
    )
    return Outgoing(
        routing_key=event.routing_key, body=body(event, event_id), properties=properties
    )
