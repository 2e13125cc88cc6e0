"""No message can crash the consumer: hostile messages between good events, real RabbitMQ.

Hypothesis makes the hostile messages: random bytes, deep nesting, huge numbers and
exponents, a wrong type in every field, a routing key other than the type, a seen id with
another body, bodies over the size limit. Each example publishes them, then a good
`order.placed`, to the sales handlers running in this test's loop; it waits until the good
event is applied and every hostile one is in the dead-letter queue with its reason, and
checks that the consumer is still running.

BOUNDBOX_FUZZ_EXAMPLES sets the number of examples (default 40, a few seconds):
    BOUNDBOX_FUZZ_EXAMPLES=10000 .venv/bin/pytest tests/consumer/test_hostile_fuzz.py -o timeout=0
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from beanie import init_beanie
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outbox.consumer import InboxEntry
from services.sales.documents import DOCUMENT_MODELS, ProductSales
from services.sales.handlers import handlers
from tests.consumer.conftest import ConsumerDb, Names, Running, StartConsumer
from tests.consumer.messages import OCCURRED_AT, PUBLISHER

EXAMPLES = int(os.environ.get("BOUNDBOX_FUZZ_EXAMPLES", "40"))
MAX_BYTES = 32 * 1024  # the consumer's limit here: some hostile bodies are over it
REASONS = {"unparseable", "invalid-payload", "too-large", "conflicting-duplicate"}
PLACED = "order.placed"
RAW = "__raw__"  # a placeholder string, replaced by a raw JSON token in the body


def order(n: int | str) -> dict[str, Any]:
    line = {
        "product_id": f"p-{n}",
        "product_name": "Mug",
        "quantity": 2,
        "unit_price": "1.25",
        "line_total": "2.50",
    }
    return {"order_id": f"o-{n}", "customer": f"c-{n}", "items": [line], "total": "2.50"}


def envelope(event_id: str, payload: dict[str, Any], event_type: str = PLACED) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": event_type,
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "aggregate_version": 1,
        "occurred_at": OCCURRED_AT,
        "payload": payload,
    }


def message(body: bytes, message_id: str) -> Message:
    return Message(
        body,
        message_id=message_id,
        content_type="application/json",
        delivery_mode=DeliveryMode.PERSISTENT,
        user_id=PUBLISHER,
    )


@dataclass(frozen=True)
class Hostile:
    """A message to publish under `routing_key`: never applied, always dead-lettered."""

    routing_key: str
    body: bytes
    kind: str
    duplicate: bool = False  # takes the id of the good event published before it


# Paths into the envelope, and the kind of value each holds.
ENVELOPE = [("id",), ("type",), ("aggregate_type",), ("aggregate_id",), ("payload",)]
PAYLOAD = [("payload", key) for key in ("order_id", "customer", "items", "total")]
LINE = [
    ("payload", "items", 0, key)
    for key in ("product_id", "product_name", "quantity", "unit_price", "line_total")
]
PATHS = ENVELOPE + PAYLOAD + LINE

# Wrong for every field: no field holds null, a list of numbers, or a small object of numbers.
wrong_anywhere = st.one_of(
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
wrong_in_payload = st.one_of(
    wrong_anywhere,
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=10**12 + 1),
    st.integers(max_value=-1),
    st.text(min_size=201, max_size=400),
)
# An exponent string is wrong for an amount or a count, but a fine name or id.
wrong_in_number = st.one_of(
    wrong_in_payload, st.from_regex(r"[0-9]{0,3}[eE][+-]?[0-9]{1,7}", fullmatch=True)
)
STRING_FIELDS = {"order_id", "customer", "product_id", "product_name"}
huge_number = st.one_of(
    st.integers(33, 6000).map(lambda digits: "9" * digits),
    st.integers(309, 10**6).map(lambda exponent: f"1e{exponent}"),
    st.integers(309, 10**6).map(lambda exponent: f"-2.5E+{exponent}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
)


def put(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@st.composite
def wrong_type(draw: st.DrawFn) -> Hostile:
    path = draw(st.sampled_from(PATHS))
    if path[0] != "payload" or len(path) == 1:
        value = draw(wrong_anywhere)
    else:
        value = draw(wrong_in_payload if path[-1] in STRING_FIELDS else wrong_in_number)
    body = put(envelope(RAW, order("evil")), path, value)
    return Hostile(PLACED, json.dumps(body).encode(), f"wrong {'.'.join(map(str, path))}")


@st.composite
def huge(draw: st.DrawFn) -> Hostile:
    path = draw(st.sampled_from(PATHS))
    token = draw(huge_number)
    body = json.dumps(put(envelope(RAW, order("evil")), path, RAW))
    return Hostile(PLACED, body.replace(f'"{RAW}"', token, 1).encode(), f"huge {token[:12]}")


@st.composite
def deep(draw: st.DrawFn) -> Hostile:
    depth = draw(st.integers(33, 20_000))
    opening = draw(st.sampled_from(["[", '{"a":', '{"payload":[']))
    body = opening * depth + draw(st.sampled_from(["1", ""])) + "]" * depth
    return Hostile(PLACED, body.encode(), f"deep {depth}")


random_bytes = st.binary(max_size=3000).map(lambda body: Hostile(PLACED, body, "bytes"))
too_large = st.integers(MAX_BYTES + 1, MAX_BYTES + 4096).map(
    lambda size: Hostile(PLACED, b" " * size, "too large")
)
cancel_as_placed = st.just(Hostile(PLACED, b"", "routing key", duplicate=False))
conflicting = st.just(Hostile(PLACED, b"", "conflicting duplicate", duplicate=True))
hostile = st.one_of(
    wrong_type(), huge(), deep(), random_bytes, too_large, cancel_as_placed, conflicting
)


@dataclass
class Fuzz:
    run: Running
    channel: AbstractRobustChannel
    names: Names
    dead: dict[str, str] = field(default_factory=dict)  # message id → x-boundbox-reason
    counter: itertools.count[int] = field(default_factory=itertools.count)
    previous_good: tuple[str, int] | None = None  # the last good event's id and number
    published: int = 0

    async def publish(self, routing_key: str, message: Message) -> None:
        exchange = await self.channel.get_exchange(self.names.exchange, ensure=False)
        await exchange.publish(message, routing_key=routing_key)

    def bad_message(self, bad: Hostile) -> tuple[str, Message]:
        tracking = str(uuid.uuid4())
        if bad.kind == "routing key":
            body = json.dumps(envelope(tracking, order("evil"), "order.cancelled")).encode()
            return tracking, message(body, tracking)
        if bad.duplicate and self.previous_good is not None:
            good_id, n = self.previous_good
            body = json.dumps(envelope(good_id, order(f"{n}-evil"))).encode()
            return good_id, message(body, good_id)
        return tracking, message(bad.body.replace(RAW.encode(), tracking.encode()), tracking)

    async def settled(self, expected_dead: set[str], processed: int) -> None:
        deadline = time.monotonic() + 30
        while self.run.count("processed_total", type=PLACED) < processed or not (
            expected_dead <= self.dead.keys()
        ):
            assert not self.run.task.done(), "the consumer stopped"
            assert time.monotonic() < deadline, f"not settled: {expected_dead - self.dead.keys()}"
            await asyncio.sleep(0.002)


@pytest.fixture
async def fuzz(
    start_consumer: StartConsumer,
    channel: AbstractRobustChannel,
    names: Names,
    consumer_db: ConsumerDb,
) -> AsyncIterator[Fuzz]:
    await init_beanie(database=consumer_db.database, document_models=[InboxEntry, *DOCUMENT_MODELS])
    run = await start_consumer(handlers, name="sales", prefetch=64)
    run.consumer.max_message_bytes = MAX_BYTES
    state = Fuzz(run, channel, names)
    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)

    async def collect(dead: AbstractIncomingMessage) -> None:
        assert dead.message_id is not None
        state.dead[dead.message_id] = str((dead.headers or {}).get("x-boundbox-reason"))

    tag = await dlq.consume(collect, no_ack=True)
    yield state
    await dlq.cancel(tag)
    # Once for the whole run (a scan): no hostile order ever reached the projection.
    assert await ProductSales.find({"_id": {"$regex": "evil"}}).count() == 0


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(bad=st.lists(hostile, min_size=1, max_size=4))
async def test_no_message_crashes_the_consumer_and_each_bad_one_is_dead_lettered(
    fuzz: Fuzz, bad: list[Hostile]
) -> None:
    expected: dict[str, Hostile] = {}
    for hostile_one in bad:
        tracking, outgoing = fuzz.bad_message(hostile_one)
        if tracking in expected:
            continue  # the same good id twice: one conflicting copy is enough to check
        expected[tracking] = hostile_one
        await fuzz.publish(hostile_one.routing_key, outgoing)
    n = next(fuzz.counter)
    good_id = str(uuid.uuid4())
    await fuzz.publish(PLACED, message(json.dumps(envelope(good_id, order(n))).encode(), good_id))
    fuzz.published += 1

    await fuzz.settled(set(expected), fuzz.published)
    for tracking, hostile_one in expected.items():
        reason = fuzz.dead.pop(tracking)
        if hostile_one.duplicate and fuzz.previous_good is not None:
            assert reason == "conflicting-duplicate", hostile_one.kind
        assert reason in REASONS, (hostile_one.kind, reason)
    product = await ProductSales.get(f"p-{n}")
    assert product is not None and (product.units_sold, product.revenue_cents) == (2, 250)
    evil = ["p-evil"] + ([f"p-{fuzz.previous_good[1]}-evil"] if fuzz.previous_good else [])
    assert await ProductSales.find({"_id": {"$in": evil}}).count() == 0  # by id: stays fast
    fuzz.previous_good = (good_id, n)
    assert not fuzz.run.task.done()
