"""The relay's publish frames are pamqp's, byte for byte, for any properties pamqp can encode."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp import frame
from pamqp.body import ContentBody
from pamqp.commands import Basic
from pamqp.header import ContentHeader

from relay.frames import PublishFrames, UnencodableMessageError, properties
from relay.messages import Outgoing, build
from relay.records import parse

text = st.text(max_size=300)  # past a short string's 255 bytes, sometimes
table_values: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits, sometimes
    text,
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.datetimes(timezones=st.just(UTC)),
    st.lists(st.integers(min_value=-100, max_value=100), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(min_value=0, max_value=9), max_size=2),
)
maybe = st.none() | st.just("")
props = st.builds(
    Basic.Properties,
    content_type=maybe | text,
    content_encoding=maybe | text,
    headers=st.none() | st.dictionaries(st.text(max_size=140), table_values, max_size=6),
    delivery_mode=st.sampled_from([None, 1, 2]),
    priority=st.none() | st.integers(min_value=0, max_value=9),
    correlation_id=maybe | text,
    reply_to=maybe | text,
    expiration=maybe | st.integers(min_value=0).map(str),
    message_id=maybe | text,
    timestamp=st.none() | st.datetimes(timezones=st.just(UTC)),
    message_type=maybe | text,
    user_id=maybe | st.just("guest"),
    app_id=maybe | text,
    cluster_id=st.just(""),  # deprecated: pamqp refuses any other value
)


def with_priority(value: Basic.Properties, priority: int | None) -> Basic.Properties:
    """Past the constructor's checks: an octet out of range must be refused all the same."""
    if priority is not None:
        value.priority = priority
    return value


props = st.builds(with_priority, props, st.none() | st.integers(min_value=-5, max_value=300))


def pamqp_or_error(marshal: Any) -> bytes | type[BaseException]:
    try:
        return bytes(marshal())
    except Exception as e:
        return type(e)


@settings(max_examples=400, deadline=None)
@given(props)
def test_properties_are_encoded_as_pamqp_encodes_them(value: Basic.Properties) -> None:
    expected = pamqp_or_error(value.marshal)
    if isinstance(expected, bytes):
        assert properties(value) == expected
    else:  # the same refusal, whatever pamqp raised
        with pytest.raises(expected):
            properties(value)


@settings(max_examples=200, deadline=None)
@given(
    routing_key=st.text(min_size=1, max_size=40),
    body=st.binary(max_size=300),
    frame_max=st.sampled_from([0, 4096, 100, 9]),
    value=props,
)
def test_a_publish_is_the_frames_pamqp_marshals(
    routing_key: str, body: bytes, frame_max: int, value: Basic.Properties
) -> None:
    encoder = PublishFrames(channel=3, exchange="boundbox.events", frame_max=frame_max)
    outgoing = Outgoing(routing_key=routing_key, body=body, properties=value)
    header = ContentHeader(body_size=len(body), properties=value)
    if not isinstance(pamqp_or_error(lambda: frame.marshal(header, 3)), bytes):
        with pytest.raises(UnencodableMessageError):
            encoder.encode(outgoing)
        return
    chunk = frame_max - 8 if frame_max else sys.maxsize
    expected = [
        frame.marshal(
            Basic.Publish(exchange="boundbox.events", routing_key=routing_key, mandatory=True), 3
        ),
        frame.marshal(header, 3),
        *(
            frame.marshal(ContentBody(body[start : start + chunk]), 3)
            for start in range(0, len(body), chunk)
        ),
    ]
    assert b"".join(encoder.encode(outgoing)) == b"".join(expected)


def test_the_relays_own_messages_are_pamqps_bytes() -> None:
    document = {
        "_id": "0b7f2f5e-3c1a-4c8e-9a51-2f3e5c6d7e8f",
        "type": "order.placed",
        "aggregate_type": "order",
        "aggregate_id": "o-ü-1",
        "aggregate_version": 70_000,  # an unsigned 16-bit table integer in pamqp's choice
        "occurred_at": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "payload": {"total": str(Decimal("9.99"))},
        "headers": {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
        "routing_key": "order.placed",
        "partition": 3,
    }
    outgoing = build(parse(document))
    assert properties(outgoing.properties) == outgoing.properties.marshal()


@pytest.mark.parametrize(
    ("routing_key", "headers"),
    [("é" * 200, {}), ("order.placed", {"set": {1, 2}}), ("order.placed", {"n": 2**70})],
    ids=["routing-key-over-255-bytes", "header-of-no-amqp-type", "integer-over-64-bits"],
)
def test_what_amqp_cannot_carry_is_unencodable(routing_key: str, headers: Any) -> None:
    encoder = PublishFrames(channel=1, exchange="x", frame_max=4096)
    outgoing = Outgoing(
        routing_key=routing_key, body=b"{}", properties=Basic.Properties(headers=headers)
    )
    with pytest.raises(UnencodableMessageError):
        encoder.encode(outgoing)


def test_a_short_string_holds_255_bytes_and_no_more() -> None:
    fits = Basic.Properties(message_id="é" * 127 + "x")  # 255 bytes
    assert properties(fits) == fits.marshal()
    with pytest.raises(TypeError):  # as pamqp refuses it
        properties(Basic.Properties(message_id="x" * 256))
