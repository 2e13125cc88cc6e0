"""Parsing the relay's messages, and classifying failures: pure, no broker, no database."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, ValidationError
from pymongo.errors import AutoReconnect, OperationFailure

from outbox import TransactionFailedError
from outbox.consumer import Backoff, Handlers, Kind, PoisonMessageError, Reason, classify, parse
from outbox.consumer.errors import ConflictingDuplicateError, InvalidPayloadError, TooLargeError
from outbox.consumer.failures import MAX_ERROR_CHARS, dead_letter, describe, reason_of


@dataclass
class FakeMessage:
    """The attributes of an incoming message that parsing reads."""

    body: bytes
    content_type: str | None = "application/json"
    message_id: str | None = None
    type: str | None = None
    correlation_id: str | None = None
    routing_key: str | None = "order.placed"
    redelivered: bool = False
    headers: dict[str, Any] = field(default_factory=dict)
    content_encoding: str | None = None
    timestamp: Any = None
    app_id: str | None = "boundbox"


def incoming(message: FakeMessage) -> AbstractIncomingMessage:
    return cast("AbstractIncomingMessage", message)


def envelope(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "order.placed",
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 1,
        "occurred_at": "2026-11-25T20:00:00.123Z",
        "payload": {"customer": "ada"},
    }
    return base | changes


def message_of(body: dict[str, Any], **changes: Any) -> FakeMessage:
    defaults = {"message_id": body.get("id"), "type": body.get("type")}
    return FakeMessage(json.dumps(body).encode(), **(defaults | changes))


def test_a_contract_message_parses_into_a_delivery() -> None:
    body = envelope()
    message = message_of(
        body,
        correlation_id="req-1",
        headers={"x-delivery-count": 2, "traceparent": "00-abc-def-01"},
    )
    delivery = parse(incoming(message))
    assert delivery.message_id == body["id"]
    assert delivery.type == "order.placed"
    assert delivery.event.payload == {"customer": "ada"}
    assert delivery.event.occurred_at.tzinfo is not None
    assert delivery.correlation_id == "req-1"
    assert delivery.traceparent == "00-abc-def-01"
    assert delivery.previous_deliveries == 2
    assert delivery.routing_key == "order.placed"


def test_json_with_a_charset_is_json() -> None:
    message = message_of(envelope(), content_type="application/json; charset=utf-8")
    assert parse(incoming(message)).type == "order.placed"


def test_a_message_without_message_id_is_keyed_by_its_envelope_id() -> None:
    body = envelope()
    assert parse(incoming(message_of(body, message_id=None))).message_id == body["id"]


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (FakeMessage(b"{oops"), "body is not JSON"),
        (FakeMessage(b"\xff\xfe"), "body is not JSON"),
        (FakeMessage(b"[1, 2]"), "not an event envelope"),
        (message_of(envelope(aggregate_version=0)), "aggregate_version"),
        (message_of({k: v for k, v in envelope().items() if k != "payload"}), "payload"),
        (message_of(envelope(id="not-a-uuid")), "id"),
        (message_of(envelope(), content_type="text/plain"), "content type"),
        (message_of(envelope(), content_type=None), "content type"),
        (message_of(envelope(), message_id="other"), "differs from the envelope id"),
        (message_of(envelope(), type="order.cancelled"), "differs from the envelope type"),
    ],
)
def test_a_message_that_breaks_the_contract_is_poison(message: FakeMessage, error: str) -> None:
    with pytest.raises(PoisonMessageError, match=error):
        parse(incoming(message))


def test_failures_are_classified() -> None:
    class Payload(BaseModel):
        n: int

    with pytest.raises(ValidationError) as invalid:
        Payload.model_validate({})
    assert classify(PoisonMessageError("x")) is Kind.POISON
    assert classify(invalid.value) is Kind.POISON
    assert classify(AutoReconnect("down")) is Kind.OUTAGE
    gave_up = TransactionFailedError("gave up")
    gave_up.__cause__ = AutoReconnect("down")
    assert classify(gave_up) is Kind.OUTAGE
    assert classify(TransactionFailedError("write conflicts")) is Kind.FAILURE
    assert classify(OperationFailure("bad update")) is Kind.FAILURE
    assert classify(RuntimeError("bug")) is Kind.FAILURE


def test_backoff_grows_with_jitter_up_to_its_ceiling() -> None:
    backoff = Backoff(first=0.1, max=1.0)
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (60, 1.0)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_a_dead_lettered_copy_keeps_the_message_and_says_why() -> None:
    body = envelope()
    original = message_of(body, headers={"aggregate_id": "o-1", "x-delivery-count": 4})
    copy = dead_letter(
        incoming(original), consumer="sales", reason=Reason.EXHAUSTED, error="Boom: x"
    )
    assert copy.body == original.body
    assert copy.message_id == body["id"]
    assert copy.type == "order.placed"
    assert copy.content_type == "application/json"
    assert copy.delivery_mode == 2
    headers = dict(copy.headers or {})
    assert headers["aggregate_id"] == "o-1"
    assert "x-delivery-count" not in headers
    assert headers["x-boundbox-error"] == "Boom: x"
    assert headers["x-boundbox-reason"] == "exhausted"
    assert headers["x-boundbox-consumer"] == "sales"
    assert headers["x-boundbox-deliveries"] == 5
    assert headers["x-boundbox-routing-key"] == "order.placed"


def test_a_long_error_is_cut_to_fit_a_header() -> None:
    text = describe(RuntimeError("x" * 10_000))
    assert text.startswith("RuntimeError: xxx")
    assert len(text) == MAX_ERROR_CHARS


def test_a_type_has_one_handler() -> None:
    handlers = Handlers()

    @handlers.on("b.happened")
    @handlers.on("a.happened")
    async def handle(delivery: Any) -> None: ...

    assert handlers.types == ("a.happened", "b.happened")
    assert handlers.get("a.happened") is handle
    assert handlers.get("c.happened") is None
    with pytest.raises(ValueError, match="already registered"):
        handlers.add("a.happened", handle)


def raw(body: bytes, routing_key: str = "order.placed") -> FakeMessage:
    return FakeMessage(body, routing_key=routing_key)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (raw(b"[" * 100_000 + b"]" * 100_000), "nested deeper than 32"),
        (raw(b'{"id": ' + b"7" * 5000 + b"}"), "number of more than 32"),
        (raw(b'{"id": 1e400000}'), "out of range"),
        (raw(b'{"id": NaN}'), "NaN is not a number"),
        (raw(b'{"id": "\\ud800"}'), "lone surrogate"),
        (raw(b'"' + b"a" * 200_000), "body is not JSON"),
        (raw(b" " * 262_145), "over the 262144 limit"),
    ],
    ids=["deep", "long-int", "huge-float", "nan", "surrogate", "unterminated", "too-large"],
)
def test_a_hostile_body_is_poison_before_it_costs_anything(
    message: FakeMessage, error: str
) -> None:
    with pytest.raises(PoisonMessageError, match=error):
        parse(incoming(message))


def test_the_size_limit_is_checked_before_decoding() -> None:
    with pytest.raises(TooLargeError):
        parse(incoming(FakeMessage(b"\xff" * 2000)), max_bytes=1024)
    assert reason_of(TooLargeError("x"), parsing=True) is Reason.TOO_LARGE


def test_the_routing_key_must_be_the_envelope_type() -> None:
    message = message_of(envelope(type="order.cancelled"), routing_key="order.placed")
    with pytest.raises(InvalidPayloadError, match=r"routing key 'order\.placed'"):
        parse(incoming(message))


def test_a_redelivery_of_the_same_envelope_has_the_same_hash_however_encoded() -> None:
    body = envelope()
    compact = message_of(body)
    spaced = FakeMessage(
        json.dumps(dict(reversed(body.items())), indent=2).encode(), message_id=body["id"]
    )
    changed = message_of(body | {"payload": {"customer": "bob"}})
    first = parse(incoming(compact)).body_sha256
    assert parse(incoming(spaced)).body_sha256 == first
    assert parse(incoming(changed)).body_sha256 != first


def test_reasons_follow_the_error() -> None:
    assert reason_of(InvalidPayloadError("x")) is Reason.INVALID_PAYLOAD
    assert reason_of(ConflictingDuplicateError("x")) is Reason.CONFLICTING_DUPLICATE
    assert reason_of(PoisonMessageError("x")) is Reason.REJECTED
    assert reason_of(PoisonMessageError("x"), parsing=True) is Reason.UNPARSEABLE
    assert reason_of(RecursionError(), parsing=True) is Reason.UNPARSEABLE


class Keyed(BaseModel):
    key: str


def test_a_payload_model_validates_before_the_handler_and_is_handed_to_it() -> None:
    handlers = Handlers()

    @handlers.on("order.placed", payload=Keyed)
    async def handle(delivery: Any) -> None: ...

    good = parse(incoming(message_of(envelope(payload={"key": "k"}))))
    assert handlers.validate(good).payload(Keyed) == Keyed(key="k")
    bad = parse(incoming(message_of(envelope(payload={"key": 5}))))
    with pytest.raises(InvalidPayloadError, match=r"order.placed payload: key: Input should be"):
        handlers.validate(bad)
