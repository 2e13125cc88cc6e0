"""Messages exactly as the relay publishes them (issue 5), and reading what a queue holds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from boundbox.settings import broker_user
from tests.consumer.conftest import AMQP_URL
from tests.support.processes import eventually

OCCURRED_AT = "2026-11-25T20:00:00.000Z"  # fixed: the same event is the same body, as redelivered

PUBLISHER = broker_user(AMQP_URL)
"""The tests' broker user: the relay's too (TRUSTED_PUBLISHERS' default), so it is trusted."""


def event_message(
    event_type: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
    aggregate_id: str = "agg-1",
    version: int = 1,
    correlation_id: str | None = None,
    occurred_at: str = OCCURRED_AT,
    user_id: str | None = PUBLISHER,
) -> Message:
    """A persistent message carrying the JSON envelope of one event, from `user_id`."""
    event_id = event_id or str(uuid.uuid4())
    aggregate_type = event_type.split(".")[0]
    envelope = {
        "id": event_id,
        "type": event_type,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "occurred_at": occurred_at,
        "payload": payload,
    }
    return Message(
        json.dumps(envelope).encode(),
        message_id=event_id,
        type=event_type,
        content_type="application/json",
        correlation_id=correlation_id or event_id,
        delivery_mode=DeliveryMode.PERSISTENT,
        timestamp=datetime.now(UTC),
        app_id="boundbox",
        user_id=user_id,
        headers={
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
        },
    )


def raw_message(body: bytes, *, content_type: str = "application/json") -> Message:
    return Message(
        body,
        message_id=str(uuid.uuid4()),
        content_type=content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
        user_id=PUBLISHER,
    )


async def publish(
    channel: AbstractChannel, exchange: str, routing_key: str, message: Message
) -> None:
    events = await channel.get_exchange(exchange, ensure=False)
    await events.publish(message, routing_key=routing_key)


async def take(
    queue: AbstractQueue, *, within: float = 10.0, no_ack: bool = True
) -> AbstractIncomingMessage:
    """The next message of `queue` (acknowledged unless `no_ack` is False) within `within` s."""

    async def probe() -> AbstractIncomingMessage | None:
        return await queue.get(fail=False, no_ack=no_ack)

    return await eventually(probe, within=within)
