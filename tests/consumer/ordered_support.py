"""Ordered consumers under test: their broker objects named per test and deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aio_pika import ExchangeType
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from outbox.consumer import Topology
from tests.consumer.messages import event_message, publish


@dataclass(frozen=True)
class OrderedNames:
    """The events exchange and the consumer queue of one test."""

    prefix: str
    exchange: str

    def topology(self, name: str, *, partitions: int, max_deliveries: int = 3) -> Topology:
        return Topology(
            exchange=self.exchange,
            queue=f"{self.prefix}.{name}",
            patterns=("thing.changed",),
            max_deliveries=max_deliveries,
            partitions=partitions,
        )


async def delete_topology(broker: AbstractRobustConnection, topology: Topology) -> None:
    """Deletes every queue and exchange an ordered or shared topology declares."""
    channel = await broker.channel()
    for queue in (*topology.partition_queues, topology.queue, topology.dead_letter_queue):
        await channel.queue_delete(queue)
    for exchange in (topology.hash_exchange, topology.dead_letter_exchange):
        await channel.exchange_delete(exchange)
    await channel.close()


@pytest.fixture
async def ordered_names(
    broker: AbstractRobustConnection, consistent_hash: None
) -> AsyncIterator[OrderedNames]:
    """A topic exchange of this test's own; it and the consumers' objects are deleted after."""
    prefix = f"bbtest.{uuid.uuid4().hex[:10]}"
    names = OrderedNames(prefix=prefix, exchange=f"{prefix}.events")
    channel = await broker.channel()
    await channel.declare_exchange(names.exchange, ExchangeType.TOPIC, durable=True)
    await channel.close()
    try:
        yield names
    finally:
        for consumer in ("things",):
            await delete_topology(broker, names.topology(consumer, partitions=8))
        channel = await broker.channel()
        await channel.exchange_delete(names.exchange)
        await channel.close()


async def send(
    channel: AbstractRobustChannel,
    names: OrderedNames,
    aggregate: str,
    version: int,
    payload: dict[str, Any] | None = None,
    event_type: str = "thing.changed",
) -> None:
    """Publishes version `version` of `aggregate` to the test's events exchange."""
    message = event_message(
        event_type, payload or {"n": version}, aggregate_id=aggregate, version=version
    )
    await publish(channel, names.exchange, event_type, message)
