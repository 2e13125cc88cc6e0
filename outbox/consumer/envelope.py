"""The incoming side of the relay's message contract: an AMQP message parsed into a Delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbox.consumer.errors import PoisonMessageError

JSON = "application/json"
DELIVERY_COUNT = "x-delivery-count"  # set by quorum queues: earlier deliveries of this message


class Event(BaseModel):
    """The JSON envelope every boundbox event travels in."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID
    type: str = Field(min_length=1)
    aggregate_type: str = Field(min_length=1)
    aggregate_id: str = Field(min_length=1)
    aggregate_version: int = Field(ge=1)
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One delivery of an event: the envelope plus what the broker said about it."""

    event: Event
    message_id: str
    routing_key: str
    correlation_id: str | None
    traceparent: str | None
    previous_deliveries: int

    @property
    def type(self) -> str:
        return self.event.type


def previous_deliveries(message: AbstractIncomingMessage) -> int:
    """How often the broker delivered this message before (0 on a first delivery)."""
    value = (message.headers or {}).get(DELIVERY_COUNT)
    if isinstance(value, int) and value >= 0:
        return value
    return 1 if message.redelivered else 0


def parse(message: AbstractIncomingMessage) -> Delivery:
    """The message as a Delivery; raises PoisonMessageError when it breaks the contract."""
    media_type = (message.content_type or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise PoisonMessageError(f"content type {message.content_type!r} is not {JSON}")
    try:
        event = Event.model_validate(json.loads(message.body))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PoisonMessageError(f"body is not JSON: {e}") from e
    except ValidationError as e:
        raise PoisonMessageError(f"not an event envelope: {_summary(e)}") from e
    if message.message_id is not None and message.message_id != str(event.id):
        raise PoisonMessageError(
            f"message_id {message.message_id!r} differs from the envelope id {str(event.id)!r}"
        )
    if message.type is not None and message.type != event.type:
        raise PoisonMessageError(f"type {message.type!r} differs from the envelope type")
    traceparent = (message.headers or {}).get("traceparent")
    return Delivery(
        event=event,
        message_id=str(event.id),
        routing_key=message.routing_key or "",
        correlation_id=message.correlation_id,
        traceparent=traceparent if isinstance(traceparent, str) else None,
        previous_deliveries=previous_deliveries(message),
    )


def _summary(error: ValidationError) -> str:
    """Field errors on one line, without echoing the (possibly huge) input."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
    )
