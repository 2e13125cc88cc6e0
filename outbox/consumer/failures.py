"""What to do when a message fails: give up at once, wait for MongoDB, or retry it later.

- POISON (PoisonMessageError, a payload that does not validate): dead-lettered at once.
- OUTAGE (MongoDB unreachable, also behind TransactionFailedError): the delivery is retried in
  place, with backoff, without counting towards the delivery limit: an outage is nobody's
  fault and must not send every message to the dead-letter queue.
- FAILURE (anything else): rejected with requeue after a backoff delay; at the Nth delivery the
  consumer publishes it to the dead-letter exchange itself, the error in its headers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractIncomingMessage, HeadersType
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from outbox.consumer.envelope import DELIVERY_COUNT, previous_deliveries
from outbox.consumer.errors import (
    ConflictingDuplicateError,
    InvalidPayloadError,
    PoisonMessageError,
    TooLargeError,
)

MAX_ERROR_CHARS = 2000


class Kind(StrEnum):
    POISON = "poison"
    OUTAGE = "outage"
    FAILURE = "failure"


class Reason(StrEnum):
    """Why a message was dead-lettered; the `x-boundbox-reason` header."""

    UNPARSEABLE = "unparseable"  # broke the message contract
    TOO_LARGE = "too-large"  # a body over the size limit, never decoded
    INVALID_PAYLOAD = "invalid-payload"  # a payload that does not fit its event type's model
    CONFLICTING_DUPLICATE = "conflicting-duplicate"  # a seen id with another body
    UNTRUSTED_PUBLISHER = "untrusted-publisher"  # not published by a trusted broker user
    REJECTED = "rejected"  # its handler found it hopeless
    EXHAUSTED = "exhausted"  # its handler failed on every one of its deliveries
    VERSION_GAP = "version-gap"  # ordered mode: an earlier version never came (see versions)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message is dead-lettered without being applied."""

    reason: Reason
    error: Exception


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(error: BaseException) -> Kind:
    """POISON, OUTAGE or FAILURE (see the module docstring)."""
    if isinstance(error, PoisonMessageError | ValidationError):
        return Kind.POISON
    if any(isinstance(e, ConnectionFailure) for e in _chain(error)):
        return Kind.OUTAGE
    return Kind.FAILURE


def reason_of(error: BaseException, *, parsing: bool = False) -> Reason:
    """The dead-letter reason of a poison `error`; other errors while parsing: unparseable."""
    match error:
        case TooLargeError():
            return Reason.TOO_LARGE
        case InvalidPayloadError():
            return Reason.INVALID_PAYLOAD
        case ConflictingDuplicateError():
            return Reason.CONFLICTING_DUPLICATE
        case ValidationError() if not parsing:  # a handler's own payload model
            return Reason.INVALID_PAYLOAD
    return Reason.UNPARSEABLE if parsing else Reason.REJECTED


def describe(error: BaseException) -> str:
    """`Type: message`, cut to a length that fits in a header."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delays with jitter: attempt n waits in [d/2, d], d = min(max, first * 2**n)."""

    first: float = 0.5
    max: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max, self.first * 2 ** min(attempt, 32))
        return random.uniform(ceiling / 2, ceiling)


def dead_letter(
    message: AbstractIncomingMessage, *, consumer: str, reason: Reason, error: str
) -> Message:
    """A persistent copy of `message` for the dead-letter exchange, saying what went wrong."""
    headers: HeadersType = {
        key: value for key, value in (message.headers or {}).items() if key != DELIVERY_COUNT
    }
    headers.update(
        {
            "x-boundbox-error": error,
            "x-boundbox-reason": reason.value,
            "x-boundbox-consumer": consumer,
            "x-boundbox-deliveries": previous_deliveries(message) + 1,
            "x-boundbox-failed-at": datetime.now(UTC).isoformat(),
            "x-boundbox-routing-key": message.routing_key or "",
        }
    )
    return Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=DeliveryMode.PERSISTENT,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )
