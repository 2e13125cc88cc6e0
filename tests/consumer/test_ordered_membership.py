"""Ordered mode's heartbeat table on the database under test, and its refusal without the plugin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractExchange
from aiormq.exceptions import ConnectionCommandInvalid
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer import ConsumerError
from outbox.consumer.membership import COLLECTION, Membership
from outbox.consumer.topology import Topology, _declare_partitions
from outbox.events import utc_now


def member(database: AsyncDatabase[Any], name: str, consumer: str = "things") -> Membership:
    return Membership(database, consumer=consumer, member=name, expiry=timedelta(seconds=5))


async def test_live_members_are_those_whose_heartbeat_has_not_expired(
    database: AsyncDatabase[Any],
) -> None:
    a, b = member(database, "a"), member(database, "b")
    assert await a.beat() == ["a"]
    assert await b.beat() == ["a", "b"]
    assert await member(database, "x", consumer="other").beat() == ["x"]  # another consumer's

    expired = utc_now() - timedelta(seconds=1)
    await database[COLLECTION].update_one({"member": "a"}, {"$set": {"until": expired}})
    assert await b.beat() == ["b"]
    assert await a.beat() == ["a", "b"]  # back with its next heartbeat

    await a.leave()
    assert await b.beat() == ["b"]


async def test_heartbeats_long_expired_are_deleted(database: AsyncDatabase[Any]) -> None:
    long_ago = utc_now() - timedelta(days=1)
    await database[COLLECTION].insert_one(
        {"_id": "things/gone", "consumer": "things", "member": "gone", "until": long_ago}
    )
    assert await member(database, "a").beat() == ["a"]
    assert await database[COLLECTION].count_documents({"member": "gone"}) == 0


class _NoHashExchangeChannel:
    """A channel of a broker without the consistent-hash plugin, as RabbitMQ answers it."""

    async def declare_exchange(self, *args: object, **kwargs: object) -> AbstractExchange:
        raise ConnectionCommandInvalid(
            "COMMAND_INVALID - unknown exchange type 'x-consistent-hash'"
        )


async def test_without_the_plugin_ordered_mode_stops_with_one_clear_error() -> None:
    topology = Topology(exchange="e", queue="q", patterns=("a.b",), max_deliveries=3, partitions=2)
    with pytest.raises(ConsumerError, match="rabbitmq-plugins enable rabbitmq_consistent_hash"):
        await _declare_partitions(_NoHashExchangeChannel(), None, topology)  # type: ignore[arg-type]
