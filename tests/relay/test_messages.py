"""Unit tests of the pure message building: envelope, properties, headers, poison documents."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aio_pika import DeliveryMode

from relay.errors import UnpublishableEventError
from relay.messages import build, iso_utc
from relay.records import parse, ref_of

EVENT_ID = uuid.UUID("0b6d4d0e-8d1c-4c57-9a43-7d9d0d1f2a3b")
OCCURRED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_id": EVENT_ID,
        "type": "order.placed",
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 3,
        "occurred_at": OCCURRED,
        "payload": {"total": 12.5, "lines": [{"sku": "a", "qty": 2}], "note": "café"},
        "headers": {"correlation_id": "req-9", "causation_id": None, "traceparent": None},
        "routing_key": "order.placed",
        "partition": 17,
        "status": "pending",
        "attempts": 0,
        "available_at": OCCURRED,
    }
    base.update(changes)
    return base


def test_the_body_is_the_json_envelope() -> None:
    outgoing = build(parse(document()))
    assert json.loads(outgoing.body) == {
        "id": str(EVENT_ID),
        "type": "order.placed",
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 3,
        "occurred_at": "2026-01-02T03:04:05.678Z",
        "payload": {"total": 12.5, "lines": [{"sku": "a", "qty": 2}], "note": "café"},
    }


def test_properties_and_headers() -> None:
    outgoing = build(parse(document()), user_id="boundbox-relay")
    message = outgoing.properties
    assert outgoing.routing_key == "order.placed"
    assert message.message_id == str(EVENT_ID)
    assert message.message_type == "order.placed"
    assert message.content_type == "application/json"
    assert message.app_id == "boundbox"
    assert message.user_id == "boundbox-relay"  # the relay's broker user: RabbitMQ checks it
    assert message.correlation_id == "req-9"
    assert message.delivery_mode == DeliveryMode.PERSISTENT.value
    assert message.timestamp == OCCURRED
    assert message.headers == {
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 3,
    }


def test_trace_and_causation_travel_as_headers_when_present() -> None:
    headers = {"correlation_id": None, "causation_id": "cmd-1", "traceparent": "00-ab-cd-01"}
    message = build(parse(document(headers=headers))).properties
    assert message.headers["traceparent"] == "00-ab-cd-01"
    assert message.headers["causation_id"] == "cmd-1"
    assert message.correlation_id == str(EVENT_ID)  # no context: the event starts the conversation


def test_the_id_may_come_back_as_raw_bytes() -> None:
    """The dev database returns a UUID `_id` as its 16 bytes."""
    assert build(parse(document(_id=EVENT_ID.bytes))).properties.message_id == str(EVENT_ID)


def test_occurred_at_is_utc_whatever_the_zone() -> None:
    paris = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 1, 2, 4, 4, 5, tzinfo=paris)) == "2026-01-02T03:04:05.000Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"  # naive is UTC


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"payload": {"when": datetime(2026, 1, 1, tzinfo=UTC)}}, "not JSON"),
        ({"payload": {"ratio": float("nan")}}, "not JSON"),
        ({"payload": "not an object"}, "payload"),
        ({"routing_key": ""}, "routing_key"),
        ({"headers": {"unexpected": 1}}, "headers"),
    ],
)
def test_a_poison_document_is_unpublishable(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnpublishableEventError, match=reason):
        build(parse(document(**changes)))


def test_a_broken_document_still_has_a_reference() -> None:
    ref = ref_of(document(payload="broken", attempts=2))
    assert (ref.key, ref.version, ref.attempts) == (("order", "o-1"), 3, 2)
    orphan = ref_of({"_id": "x", "aggregate_version": "seven"})
    assert orphan.version is None
    assert orphan.document_id == "x"
