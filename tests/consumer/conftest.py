"""A real RabbitMQ and a per-test database for consumers: names of their own, removed after."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from aio_pika import ExchangeType
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from aiormq.exceptions import ChannelNotFoundEntity
from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import outbox
from outbox.consumer import (
    Backoff,
    Consumer,
    ConsumerMetrics,
    Handlers,
    InboxEntry,
    Topology,
    connect,
    run_consumer,
)
from outbox.consumer.consumer import BatchHandler, Guard
from outbox.consumer.worker import AfterCommit
from tests.support.processes import eventually

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


class Tally(Document):
    """A stand-in projection: how often each key was counted (`total`)."""

    id: str  # type: ignore[assignment]
    total: int = 0

    class Settings:
        name = "tallies"


@pytest.fixture
def test_id(request: pytest.FixtureRequest) -> str:
    """This test's name, fit for broker object and connection names."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:60]
    return f"{name}-{uuid.uuid4().hex[:6]}"


@dataclass
class Names:
    """Exchange and queue names of one test; `queue(name)` is a consumer's queue."""

    test_id: str
    prefix: str
    exchange: str
    queues: list[str] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)

    def queue(self, consumer: str) -> str:
        name = f"{self.prefix}.{consumer}"
        self.queues += [name, f"{name}.dlq"]
        return name

    def ordered_queue(self, consumer: str, partitions: int) -> str:
        """`queue(consumer)`, its ordered mode's partition queues and hash exchange deleted too."""
        name = self.queue(consumer)
        self.queues += [f"{name}.{n}" for n in range(partitions)]
        self.exchanges.append(f"{name}.hash")
        return name


@pytest.fixture
async def broker(test_id: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(
        AMQP_URL, client_properties={"connection_name": f"test:{test_id}"}
    )
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def channel(broker: AbstractRobustConnection) -> AbstractRobustChannel:
    return await broker.channel()


@pytest.fixture
async def names(test_id: str, broker: AbstractRobustConnection) -> AsyncIterator[Names]:
    """Unique names; the test's exchange exists; everything named is deleted afterwards."""
    prefix = f"bbtest.{uuid.uuid4().hex[:10]}"
    names = Names(test_id=test_id, prefix=prefix, exchange=f"{prefix}.events")
    setup = await broker.channel()
    await setup.declare_exchange(names.exchange, ExchangeType.TOPIC, durable=True)
    await setup.close()
    try:
        yield names
    finally:
        cleanup = await broker.channel()
        for queue in names.queues:
            await cleanup.queue_delete(queue)
            if not queue.endswith(".dlq"):
                await cleanup.exchange_delete(f"{queue}.dlx")
        for exchange in [*names.exchanges, names.exchange]:
            await cleanup.exchange_delete(exchange)
        await cleanup.close()


@dataclass(frozen=True)
class ConsumerDb:
    """The consumer's own client (app name `app_name`, for failpoints) on this test's database."""

    client: AsyncMongoClient[dict[str, Any]]
    database: AsyncDatabase[dict[str, Any]]
    app_name: str

    async def fail(self, commands: list[str], *, mode: Any = "alwaysOn", **data: Any) -> None:
        """Arms MongoDB's failCommand failpoint for this consumer's client only."""
        await self.client.admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": mode,
                "data": {"failCommands": commands, "appName": self.app_name, **data},
            }
        )

    async def heal(self) -> None:
        await self.client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


@pytest.fixture
async def consumer_db(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> AsyncIterator[ConsumerDb]:
    """Beanie on this test's database (the inbox, the outbox and Tally), and the outbox client."""
    app_name = f"consumer-{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_url, uuidRepresentation="standard", tz_aware=True, appname=app_name
    )
    await init_beanie(
        database=client[database.name],
        document_models=[InboxEntry, Tally, *outbox.DOCUMENT_MODELS],
    )
    outbox.use_client(client)
    db = ConsumerDb(client, client[database.name], app_name)
    try:
        yield db
    finally:
        outbox.use_client(None)
        await client.close()


@dataclass
class Running:
    """A consumer running in this test's loop; `stop()` is its graceful shutdown."""

    consumer: Consumer
    topology: Topology
    metrics: ConsumerMetrics
    stopping: asyncio.Event
    task: asyncio.Task[None]
    connection: AbstractRobustConnection

    async def stop(self) -> None:
        self.stopping.set()
        try:
            await asyncio.wait_for(self.task, timeout=30)
        finally:
            await self.connection.close()

    def count(self, metric: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(
            f"boundbox_consumer_{metric}", {"consumer": self.consumer.name, **labels}
        )
        return value or 0.0


StartConsumer = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_consumer(
    names: Names, broker: AbstractRobustConnection, consumer_db: ConsumerDb
) -> AsyncIterator[StartConsumer]:
    """`await start_consumer(handlers, ...)`: runs a consumer until the test ends (or stops it)."""
    running: list[Running] = []

    async def start(
        handlers: Handlers,
        *,
        name: str = "tally",
        patterns: tuple[str, ...] | None = None,
        max_deliveries: int = 3,
        prefetch: int = 8,
        amqp_url: str = AMQP_URL,
        after_commit: AfterCommit | None = None,
        policy: outbox.RetryPolicy | None = None,
        batch: int = 1,
        apply_batch: BatchHandler | None = None,
        guard: Guard | None = None,
    ) -> Running:
        consumer = Consumer(
            name, handlers, policy=policy, batch=batch, apply_batch=apply_batch, guard=guard
        )
        topology = Topology(
            exchange=names.exchange,
            queue=names.queue(name),
            patterns=patterns or handlers.types,
            max_deliveries=max_deliveries,
        )
        metrics = ConsumerMetrics(name)
        stopping = asyncio.Event()
        connection = connect(amqp_url, name=f"test:{names.test_id}:{name}", reconnect_interval=0.2)
        task = asyncio.create_task(
            run_consumer(
                consumer,
                connection,
                topology=topology,
                prefetch=prefetch,
                metrics=metrics,
                backoff=Backoff(0.01, 0.05),
                stopping=stopping,
                after_commit=after_commit,
            )
        )
        run = Running(consumer, topology, metrics, stopping, task, connection)
        running.append(run)
        # Ready once the queue exists and is bound: messages published from now on arrive.
        await wait_consuming(broker, topology.queue, task)
        return run

    try:
        yield start
    finally:
        for run in running:
            if not run.task.done() or not run.connection.is_closed:
                await run.stop()


async def consumers_of(broker: AbstractRobustConnection, queue: str) -> int:
    """How many consumers read `queue` now (0 when it does not exist)."""
    channel = await broker.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
    except ChannelNotFoundEntity:
        return 0
    finally:
        if not channel.is_closed:
            await channel.close()
    return int(declared.declaration_result.consumer_count or 0)


async def wait_consuming(
    broker: AbstractRobustConnection, queue: str, task: asyncio.Task[None], *, within: float = 15
) -> None:
    """Returns once `queue` has a consumer; fails if `task` (the consumer) ended first."""

    async def consuming() -> bool:
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("the consumer stopped before it consumed")
        return await consumers_of(broker, queue) > 0

    await eventually(consuming, within=within)
