"""The delivery contract, as a real consumer sees it: every property, header and body field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

import outbox
from boundbox.settings import Settings, broker_user
from tests.relay.support import AMQP_URL, Consumer, metric, record_many, running_relay
from tests.support.processes import eventually

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_a_consumer_receives_every_property_header_and_field(
    recording: None, consumer: Consumer, settings_for: Callable[..., Settings]
) -> None:
    with outbox.event_context(
        correlation_id="req-1", causation_id="cmd-1", traceparent=TRACEPARENT
    ):
        [traced] = await record_many("order", ["o-1"], name="placed", customer="ada")
    [plain] = await record_many("order", ["o-2"], name="placed")

    async with running_relay(settings_for()) as relay:
        received = {message.message_id: message for message in await consumer.wait_for(2)}

        async def counted() -> bool:
            return metric(relay, "boundbox_relay_published_total") == 2

        await eventually(counted)

    message = received[str(traced.id)]
    assert message.routing_key == "order.placed"
    assert message.type == "order.placed"
    assert message.content_type == "application/json"
    assert message.app_id == "boundbox"
    assert message.user_id == broker_user(AMQP_URL)  # the relay's broker user, checked by it
    assert message.correlation_id == "req-1"
    assert message.delivery_mode == 2  # persistent
    assert message.timestamp is not None
    assert message.timestamp.replace(tzinfo=UTC) == traced.occurred_at.replace(microsecond=0)
    assert message.headers == {
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 1,
        "traceparent": TRACEPARENT,
        "causation_id": "cmd-1",
    }
    assert message.body == {
        "id": str(traced.id),
        "type": "order.placed",
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 1,
        "occurred_at": _iso(traced.occurred_at),
        "payload": {"n": 0, "customer": "ada"},
    }

    other = received[str(plain.id)]
    assert other.correlation_id == str(plain.id)  # the event starts its own conversation
    assert other.headers == {
        "aggregate_type": "order",
        "aggregate_id": "o-2",
        "aggregate_version": 1,
    }


async def test_events_are_marked_published_after_their_confirm(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    database: AsyncDatabase[dict[str, object]],
) -> None:
    events = await record_many("order", ["o-1", "o-1", "o-2"])

    async with running_relay(settings_for()):
        await consumer.wait_for(3)

        async def all_published() -> bool:
            statuses = await database["outbox"].distinct("status")
            return statuses == ["published"]

        await eventually(all_published)

    documents = await database["outbox"].find({}).to_list()
    assert len(documents) == len(events)
    assert all(isinstance(document["published_at"], datetime) for document in documents)
    assert [m.version for m in consumer.received if m.aggregate_id == "o-1"] == [1, 2]
