"""The inbox's indexes on MongoDB, and the queue topology on RabbitMQ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aio_pika.abc import AbstractRobustChannel
from pymongo.errors import DuplicateKeyError

from outbox.consumer import InboxEntry, Topology, declare, inbox
from tests.consumer.conftest import ConsumerDb, Names
from tests.consumer.messages import event_message, publish, take


async def ttl_seconds() -> int | None:
    indexes = await InboxEntry.get_pymongo_collection().index_information()
    for spec in indexes.values():
        if list(spec["key"]) == inbox.TTL_KEY:
            return int(spec["expireAfterSeconds"])
    return None


async def test_the_dedupe_window_is_a_ttl_index_that_follows_the_setting(
    consumer_db: ConsumerDb,
) -> None:
    await inbox.ensure_ttl(timedelta(hours=1))
    assert await ttl_seconds() == 3600
    await inbox.ensure_ttl(timedelta(hours=1))
    assert await ttl_seconds() == 3600
    await inbox.ensure_ttl(timedelta(days=2))
    assert await ttl_seconds() == 2 * 86400


async def test_an_inbox_entry_is_unique_per_consumer_and_message(consumer_db: ConsumerDb) -> None:
    await inbox.remember("sales", "m-1", "order.placed")
    await inbox.remember("billing", "m-1", "order.placed")
    with pytest.raises(DuplicateKeyError):
        await inbox.remember("sales", "m-1", "order.placed")
    assert await inbox.seen("sales", "m-1")
    assert not await inbox.seen("sales", "m-2")


def test_a_topology_needs_patterns_and_deliveries() -> None:
    with pytest.raises(ValueError, match="pattern"):
        Topology(exchange="e", queue="q", patterns=(), max_deliveries=3)
    with pytest.raises(ValueError, match="max_deliveries"):
        Topology(exchange="e", queue="q", patterns=("#",), max_deliveries=0)


async def test_the_topology_is_declared_idempotently_and_routes_by_pattern(
    channel: AbstractRobustChannel, names: Names
) -> None:
    topology = Topology(
        exchange=names.exchange,
        queue=names.queue("topo"),
        patterns=("order.*", "payment.captured"),
        max_deliveries=4,
    )
    declared = await declare(channel, topology)
    again = await declare(channel, topology)  # same arguments: accepted, nothing changes
    assert again.queue.name == declared.queue.name == f"{names.prefix}.topo"

    for key in ("order.placed", "payment.captured", "payment.refunded", "customer.created"):
        await publish(channel, names.exchange, key, event_message(key, {}))
    got = [(await take(declared.queue)).routing_key for _ in range(2)]
    assert sorted(got) == ["order.placed", "payment.captured"]
    assert await declared.queue.get(fail=False) is None

    # A message the broker delivered more than max_deliveries times is dead-lettered by it.
    await publish(channel, names.exchange, "order.placed", event_message("order.placed", {}))
    for deliveries in range(5):
        message = await take(declared.queue, no_ack=False)
        assert message.headers.get("x-delivery-count", 0) == deliveries
        await message.nack(requeue=True)
    dlq = await channel.declare_queue(topology.dead_letter_queue, passive=True)
    dead = await take(dlq)
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
