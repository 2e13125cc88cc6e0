"""The consumer toolkit against the real RabbitMQ and the dev database (or MONGODB_URL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustChannel

import outbox
from outbox.consumer import (
    Backoff,
    Consumer,
    ConsumerError,
    ConsumerMetrics,
    Delivery,
    Handlers,
    InboxEntry,
    PoisonMessageError,
    Topology,
    connect,
    run_consumer,
)
from tests.consumer.conftest import AMQP_URL, ConsumerDb, Names, Running, StartConsumer, Tally
from tests.consumer.messages import event_message, publish, raw_message, take
from tests.support.processes import eventually
from tests.support.tcp_proxy import TcpProxy

COUNTED = "tally.counted"


def counting_handlers(calls: list[Delivery]) -> Handlers:
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def count(delivery: Delivery) -> None:
        calls.append(delivery)
        await Tally.get_pymongo_collection().update_one(
            {"_id": delivery.event.payload["key"]}, {"$inc": {"total": 1}}, upsert=True
        )

    return handlers


class KilledError(BaseException):
    """The process dies here: like a SIGKILL, nothing in the consumer catches it."""


async def tally(key: str) -> int:
    found = await Tally.get(key)
    return found.total if found else 0


async def counted(run: Running, metric: str, expected: float, **labels: str) -> None:
    async def probe() -> bool:
        return run.count(metric, **labels) >= expected

    await eventually(probe, within=15)


async def test_the_same_message_delivered_three_times_is_applied_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    calls: list[Delivery] = []
    run = await start_consumer(counting_handlers(calls))
    event_id = str(uuid.uuid4())
    for _ in range(3):
        message = event_message(COUNTED, {"key": "a"}, event_id=event_id)
        await publish(channel, names.exchange, COUNTED, message)

    await counted(run, "duplicates_total", 2)
    assert run.count("processed_total", type=COUNTED) == 1
    assert await tally("a") == 1
    assert [call.message_id for call in calls] == [event_id]
    assert await InboxEntry.find({"consumer": "tally", "message_id": event_id}).count() == 1


async def test_events_recorded_by_a_handler_are_caused_by_the_message(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    handlers = Handlers()

    @handlers.on("order.placed")
    async def bill(delivery: Delivery) -> None:
        await outbox.record(
            aggregate_type="invoice", aggregate_id="inv-1", name="issued", payload={}
        )

    run = await start_consumer(handlers)
    message = event_message("order.placed", {}, correlation_id="request-42")
    await publish(channel, names.exchange, "order.placed", message)

    await counted(run, "processed_total", 1, type="order.placed")
    [event] = await outbox.OutboxEvent.find({"type": "invoice.issued"}).to_list()
    assert event.headers.causation_id == message.message_id
    assert event.headers.correlation_id == "request-42"


async def test_a_type_without_handler_is_acknowledged_and_counted(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    calls: list[Delivery] = []
    run = await start_consumer(counting_handlers(calls), patterns=("#",))
    await publish(channel, names.exchange, "tally.renamed", event_message("tally.renamed", {}))
    await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "b"}))

    await counted(run, "processed_total", 1, type=COUNTED)
    assert run.count("skipped_total") == 1
    assert await InboxEntry.find({"event_type": "tally.renamed"}).count() == 0


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (raw_message(b"{not json"), "body is not JSON"),
        (raw_message(b'{"id": "x"}'), "not an event envelope"),
        (raw_message(b"hello", content_type="text/plain"), "content type 'text/plain'"),
    ],
    ids=["bad-json", "missing-fields", "not-json-content"],
)
async def test_an_unparseable_message_is_dead_lettered_at_once_and_the_next_processed(
    start_consumer: StartConsumer,
    channel: AbstractRobustChannel,
    names: Names,
    message: Any,
    error: str,
) -> None:
    calls: list[Delivery] = []
    run = await start_consumer(counting_handlers(calls))
    await publish(channel, names.exchange, COUNTED, message)
    await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "c"}))

    await counted(run, "processed_total", 1, type=COUNTED)
    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)
    dead = await take(dlq)
    assert dead.body == message.body
    assert dead.message_id == message.message_id
    assert error in str(dead.headers["x-boundbox-error"])
    assert dead.headers["x-boundbox-reason"] == "unparseable"
    assert dead.headers["x-boundbox-consumer"] == "tally"
    assert dead.headers["x-boundbox-deliveries"] == 1
    assert dead.routing_key == COUNTED
    assert run.count("dead_lettered_total", reason="unparseable") == 1
    assert await tally("c") == 1


async def test_a_handler_that_rejects_the_payload_dead_letters_it_at_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    attempts: list[str] = []
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def reject(delivery: Delivery) -> None:
        attempts.append(delivery.message_id)
        raise PoisonMessageError("payload has no key")

    run = await start_consumer(handlers, max_deliveries=5)
    await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {}))

    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)
    dead = await take(dlq)
    assert dead.headers["x-boundbox-reason"] == "rejected"
    assert dead.headers["x-boundbox-error"] == "PoisonMessageError: payload has no key"
    assert len(attempts) == 1


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_n_deliveries(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    attempts: list[int] = []
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def fail(delivery: Delivery) -> None:
        attempts.append(delivery.previous_deliveries)
        await Tally(id="partial").insert()  # rolled back with the transaction every time
        raise RuntimeError("the handler is broken")

    calls: list[Delivery] = []
    other = counting_handlers(calls).get(COUNTED)
    assert other is not None
    handlers.add("tally.other", other)
    run = await start_consumer(handlers, max_deliveries=3)
    message = event_message(COUNTED, {"key": "d"})
    await publish(channel, names.exchange, COUNTED, message)

    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)
    dead = await take(dlq)
    assert attempts == [0, 1, 2]
    assert dead.message_id == message.message_id
    assert dead.headers["x-boundbox-reason"] == "exhausted"
    assert dead.headers["x-boundbox-error"] == "RuntimeError: the handler is broken"
    assert dead.headers["x-boundbox-deliveries"] == 3
    assert json.loads(dead.body)["payload"] == {"key": "d"}
    assert run.count("failures_total", kind="failure") == 3
    assert run.count("dead_lettered_total", reason="exhausted") == 1
    assert await Tally.get("partial") is None
    assert await InboxEntry.find({"message_id": message.message_id}).count() == 0

    # The consumer goes on with the next message.
    await publish(
        channel, names.exchange, "tally.other", event_message("tally.other", {"key": "e"})
    )
    await counted(run, "processed_total", 1, type="tally.other")


async def test_a_failure_that_passes_is_retried_and_applied_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    calls: list[Delivery] = []
    inner = counting_handlers(calls).get(COUNTED)
    assert inner is not None
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def flaky(delivery: Delivery) -> None:
        await inner(delivery)
        if delivery.previous_deliveries < 2:
            raise RuntimeError("not yet")

    run = await start_consumer(handlers, max_deliveries=5)
    await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "f"}))

    await counted(run, "processed_total", 1, type=COUNTED)
    assert [call.previous_deliveries for call in calls] == [0, 1, 2]
    assert await tally("f") == 1
    assert run.count("failures_total", kind="failure") == 2
    assert run.count("dead_lettered_total", reason="exhausted") == 0


async def test_a_crash_between_commit_and_ack_is_redelivered_and_applied_once(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    """In-process version of the SIGKILL test: the connection dies right after the commit."""
    calls: list[Delivery] = []

    def crash(delivery: Delivery) -> None:
        raise KilledError  # stands for the kill: the message is never acknowledged

    run = await start_consumer(counting_handlers(calls), after_commit=crash)
    message = event_message(COUNTED, {"key": "g"})
    await publish(channel, names.exchange, COUNTED, message)
    with pytest.raises(KilledError):
        await asyncio.wait_for(run.task, timeout=15)
    await run.connection.close()  # the unacknowledged message goes back to the queue

    again = await start_consumer(counting_handlers(calls))
    await counted(again, "duplicates_total", 1)
    assert await tally("g") == 1
    assert len(calls) == 1


async def test_stopping_finishes_the_message_in_hand(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    handlers = Handlers()

    @handlers.on(COUNTED)
    async def slow(delivery: Delivery) -> None:
        started.set()
        await release.wait()
        await Tally(id=delivery.message_id, total=1).insert()

    run = await start_consumer(handlers)
    first = event_message(COUNTED, {})
    await publish(channel, names.exchange, COUNTED, first)
    second = event_message(COUNTED, {})
    await publish(channel, names.exchange, COUNTED, second)
    await asyncio.wait_for(started.wait(), timeout=15)

    run.stopping.set()
    release.set()
    await asyncio.wait_for(run.task, timeout=15)

    assert await Tally.get(str(first.message_id)) is not None
    assert await Tally.get(str(second.message_id)) is None

    async def handed_back() -> bool:  # the broker requeues it once the consumer's channel closes
        queue = await channel.declare_queue(run.topology.queue, passive=True)
        return queue.declaration_result.message_count == 1

    await eventually(handed_back, within=10)


async def test_mongodb_unreachable_is_retried_in_place_without_spending_deliveries(
    start_consumer: StartConsumer,
    channel: AbstractRobustChannel,
    names: Names,
    consumer_db: ConsumerDb,
) -> None:
    calls: list[Delivery] = []
    run = await start_consumer(
        counting_handlers(calls), max_deliveries=1, policy=outbox.RetryPolicy(budget_seconds=0.2)
    )
    await consumer_db.fail(["find", "insert", "update"], closeConnection=True)
    try:
        await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "h"}))
        await counted(run, "failures_total", 2, kind="outage")
    finally:
        await consumer_db.heal()

    await counted(run, "processed_total", 1, type=COUNTED)
    assert run.count("dead_lettered_total", reason="exhausted") == 0
    assert await tally("h") == 1


async def test_the_consumer_resumes_by_itself_after_the_broker_connection_is_cut(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    calls: list[Delivery] = []
    proxy = await TcpProxy.in_front_of(AMQP_URL, default_port=5672)
    try:
        run = await start_consumer(counting_handlers(calls), amqp_url=proxy.routed(AMQP_URL))
        await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "before"}))
        await counted(run, "processed_total", 1, type=COUNTED)

        await proxy.cut()

        async def disconnected() -> bool:
            return run.count("broker_connected") == 0

        await eventually(disconnected, within=10)
        await publish(channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "during"}))
        assert await tally("during") == 0

        await proxy.restore()
        await counted(run, "processed_total", 2, type=COUNTED)
        assert await tally("during") == 1
        assert run.count("broker_connected") == 1
    finally:
        await proxy.close()


async def test_a_queue_declared_otherwise_stops_the_consumer_with_a_clear_error(
    channel: AbstractRobustChannel, names: Names, consumer_db: ConsumerDb
) -> None:
    queue = names.queue("tally")
    await channel.declare_queue(queue, durable=True)  # a classic queue of the same name
    topology = Topology(exchange=names.exchange, queue=queue, patterns=("#",), max_deliveries=3)
    connection = connect(AMQP_URL, name=f"test:{names.test_id}")
    try:
        with pytest.raises(ConsumerError, match=f"cannot declare the queues of {queue}"):
            await run_consumer(
                Consumer("tally", Handlers()),
                connection,
                topology=topology,
                prefetch=1,
                metrics=ConsumerMetrics("tally"),
                backoff=Backoff(0.01, 0.01),
                stopping=asyncio.Event(),
            )
    finally:
        await connection.close()
