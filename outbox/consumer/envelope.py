"""The incoming side of the relay's message contract: an AMQP message parsed into a Delivery."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbox.consumer import decoding
from outbox.consumer.errors import InvalidPayloadError, PoisonMessageError, TooLargeError

JSON = "application/json"
DELIVERY_COUNT = "x-delivery-count"  # set by quorum queues: earlier deliveries of this message
MAX_MESSAGE_BYTES = 256 * 1024
NAME_MAX = 255  # an AMQP short string: a routing key holds a type


class Event(BaseModel):
    """The JSON envelope every boundbox event travels in."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID
    type: str = Field(min_length=1, max_length=NAME_MAX)
    aggregate_type: str = Field(min_length=1, max_length=NAME_MAX)
    aggregate_id: str = Field(min_length=1, max_length=NAME_MAX)
    aggregate_version: int = Field(ge=1, le=2**63 - 1)
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
    body_sha256: str = ""  # of the envelope in canonical JSON: what the inbox remembers
    validated: BaseModel | None = None  # the payload, once validated by its type's model

    @property
    def type(self) -> str:
        return self.event.type

    def payload[M: BaseModel](self, model: builtins.type[M]) -> M:  # `type` is the property
        """The payload as `model`: the one validated before the handler ran, or validated now."""
        if isinstance(self.validated, model):
            return self.validated
        return model.model_validate(self.event.payload)


def previous_deliveries(message: AbstractIncomingMessage) -> int:
    """How often the broker delivered this message before (0 on a first delivery)."""
    value = (message.headers or {}).get(DELIVERY_COUNT)
    if isinstance(value, int) and value >= 0:
        return value
    return 1 if message.redelivered else 0


def parse(message: AbstractIncomingMessage, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Delivery:
    """The message as a Delivery; raises PoisonMessageError when it breaks the contract.

    The size is checked before anything is decoded (TooLargeError), and the routing key must
    be the envelope's type (InvalidPayloadError): a consumer binds its queue by type.
    """
    if len(message.body) > max_bytes:
        raise TooLargeError(f"body of {len(message.body)} bytes is over the {max_bytes} limit")
    media_type = (message.content_type or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise PoisonMessageError(f"content type {message.content_type!r} is not {JSON}")
    body = decoding.loads(message.body)
    body_sha256 = decoding.canonical_sha256(body)
    try:
        event = Event.model_validate(body)
    except ValidationError as e:
        raise PoisonMessageError(f"not an event envelope: {summary(e)}") from e
    if message.message_id is not None and message.message_id != str(event.id):
        raise PoisonMessageError(
            f"message_id {message.message_id!r} differs from the envelope id {str(event.id)!r}"
        )
    if message.type is not None and message.type != event.type:
        raise PoisonMessageError(f"type {message.type!r} differs from the envelope type")
    if message.routing_key != event.type:
        raise InvalidPayloadError(
            f"routing key {message.routing_key!r} is not the envelope type {event.type!r}"
        )
    traceparent = (message.headers or {}).get("traceparent")
    return Delivery(
        event=event,
        message_id=str(event.id),
        routing_key=message.routing_key or "",
        correlation_id=message.correlation_id,
        traceparent=traceparent if isinstance(traceparent, str) else None,
        previous_deliveries=previous_deliveries(message),
        body_sha256=body_sha256,
    )


def summary(error: ValidationError) -> str:
    """Field errors on one line, without echoing the (possibly huge) input."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
    )
