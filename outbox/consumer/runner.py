"""One consumer's broker side: a robust connection, its topology, and the consume loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from aio_pika import RobustConnection
from aio_pika.abc import AbstractRobustChannel
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed

from outbox.consumer import inbox
from outbox.consumer.connection import ReportingConnection
from outbox.consumer.consumer import Consumer
from outbox.consumer.errors import ConsumerError
from outbox.consumer.failures import Backoff
from outbox.consumer.loop import consume
from outbox.consumer.membership import Membership, Ordering, member_id
from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.ordered import OrderedWorker, ordered
from outbox.consumer.partitions import Partitions
from outbox.consumer.topology import Declared, Topology, declare
from outbox.consumer.trust import TrustedPublishers
from outbox.consumer.waiting import pause, until_stopped
from outbox.consumer.worker import BROKER_ERRORS, AfterCommit, Worker

log = logging.getLogger("boundbox.consumer")


RETRY_SECONDS = 1.0


def connect(amqp_url: str, *, name: str, reconnect_interval: float = 1.0) -> RobustConnection:
    """A robust connection (open it with `connect()`) that retries from its first attempt on,
    and logs one line when the broker goes away and one when it is back.

    `name` shows in the broker's connection list: a process or a test is found by it.
    """
    return ReportingConnection(amqp_url, name=name, reconnect_interval=reconnect_interval)


def is_connected(connection: RobustConnection) -> bool:
    return connection.connected.is_set() and not connection.is_closed


async def run_consumer(
    consumer: Consumer,
    connection: RobustConnection,
    *,
    topology: Topology,
    prefetch: int,
    metrics: ConsumerMetrics,
    backoff: Backoff,
    stopping: asyncio.Event,
    after_commit: AfterCommit | None = None,
    consuming: asyncio.Event | None = None,
    trusted: TrustedPublishers | None = None,
    ordering: Ordering | None = None,
) -> None:
    """Consumes until `stopping` is set, reconnecting after broker outages.

    Opens `connection` if needed; closing it stays with the caller, who created it.
    `consuming` is set once the queue is declared, bound and subscribed to. Only messages
    published by a `trusted` broker user are applied (None: any publisher). An ordered
    `topology` is read in ordered mode, this instance taking part as `ordering` says.
    """
    metrics.connected.labels(consumer.name).set_function(lambda: float(is_connected(connection)))
    try:
        opened = await _open(connection, topology, prefetch, stopping)
        if opened is None:
            return
        channel, declared = opened
        log.info(
            "consumer %s reading %s (bound to %s on %s)",
            consumer.name,
            topology.hash_exchange if topology.ordered else topology.queue,
            ", ".join(topology.aggregate_patterns if topology.ordered else topology.patterns),
            topology.exchange,
        )
        kind = OrderedWorker if topology.ordered else Worker
        applying = ordered(consumer) if topology.ordered else consumer

        def workers(stop: asyncio.Event) -> Worker:
            return kind(
                applying,
                dead_letters=declared.dead_letters,
                metrics=metrics,
                max_deliveries=topology.max_deliveries,
                backoff=backoff,
                stopping=stop,
                after_commit=after_commit,
                trusted=trusted,
            )

        try:
            if topology.ordered:
                ordering = ordering or Ordering(member=member_id())
                membership = Membership(
                    inbox.InboxEntry.get_pymongo_collection().database,
                    consumer=consumer.name,
                    member=ordering.member,
                    expiry=timedelta(seconds=ordering.expiry),
                )
                partitions = Partitions(
                    declared.queues,
                    membership=membership,
                    workers=workers,
                    heartbeat=ordering.heartbeat,
                )
                await partitions.run(stopping, consuming)
            else:
                await consume(declared.queues[0], workers(stopping), stopping, consuming)
        finally:
            # Whatever the loop could not hand back (a subscription the broker had not cancelled
            # yet, a delivery in flight) the broker requeues once the channel is closed.
            with contextlib.suppress(*BROKER_ERRORS, asyncio.TimeoutError):
                await asyncio.wait_for(channel.close(), timeout=5)
    finally:
        log.info("consumer %s stopped", consumer.name)


async def _open(
    connection: RobustConnection,
    topology: Topology,
    prefetch: int,
    stopping: asyncio.Event,
) -> tuple[AbstractRobustChannel, Declared] | None:
    """Connects and declares the topology on a channel of its own, retrying while the broker
    is away; None on stop."""
    if not await until_stopped(connection.connect(), stopping):
        return None
    while True:
        channel: AbstractRobustChannel | None = None
        try:
            if not await until_stopped(connection.connected.wait(), stopping):
                return None
            channel = await connection.channel(on_return_raises=True)
            await channel.set_qos(prefetch_count=prefetch)
            return channel, await declare(channel, topology)
        except (ChannelPreconditionFailed, ChannelAccessRefused) as e:
            raise ConsumerError(f"cannot declare the queues of {topology.queue}: {e}") from e
        except BROKER_ERRORS as e:
            if isinstance(connection, ReportingConnection):
                connection.attempt_failed(e)  # one line per outage, not one per attempt
            else:
                log.warning("broker not ready (%s), retrying", e)
            if channel is not None:
                with contextlib.suppress(*BROKER_ERRORS):
                    await channel.close()
            if not await pause(RETRY_SECONDS, stopping):
                return None
