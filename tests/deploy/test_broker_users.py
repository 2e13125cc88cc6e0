"""Broker least privilege on the real RabbitMQ, with the permissions of definitions.json.

A vhost of this test's own holds the names compose uses (boundbox.events, boundbox.sales, ...),
and users made with `rabbitmqctl` get exactly the regexes deploy/rabbitmq/definitions.json gives
boundbox-relay and boundbox-sales: what passes here is what the file allows in production. An
intruder is a user allowed to write to the events exchange too (say, another service's).
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from aiormq.exceptions import (
    ChannelAccessRefused,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
)

from outbox.consumer import (
    Backoff,
    ConsumerMetrics,
    Delivery,
    Handlers,
    Topology,
    TrustedPublishers,
    connect,
    run_consumer,
)
from outbox.consumer import Consumer as EventConsumer
from outbox.consumer.membership import Ordering
from tests.consumer.conftest import AMQP_URL, ConsumerDb, Tally
from tests.consumer.messages import event_message, take
from tests.deploy.definitions import RELAY, SALES, Permissions, permissions
from tests.relay.support import record_many, relay_settings, running_relay
from tests.support.processes import eventually

EXCHANGE, ARCHIVE, QUEUE = "boundbox.events", "boundbox.archive", "boundbox.sales"
REASON = "x-boundbox-reason"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class BrokerUsers:
    """Users of this test's vhost: `url(role)` logs in as the relay, consumer or intruder."""

    vhost: str
    names: dict[str, str]
    password: str

    def url(self, role: str) -> str:
        return f"amqp://{self.names[role]}:{self.password}@127.0.0.1:5672/{self.vhost}"

    @property
    def admin_url(self) -> str:
        """The suite's own broker user, given everything on this vhost (to look and clean up)."""
        return f"{AMQP_URL.rstrip('/')}/{self.vhost}"


@pytest.fixture
def broker_users() -> Any:
    """A vhost and three users with the definitions' permissions; all deleted afterwards."""
    suffix = secrets.token_hex(4)
    vhost = f"bbtest-{suffix}"
    users = BrokerUsers(
        vhost=vhost,
        names={role: f"bbtest-{role}-{suffix}" for role in ("relay", "consumer", "intruder")},
        password=secrets.token_hex(12),
    )
    granted: dict[str, Permissions] = {
        "relay": permissions(RELAY),
        "consumer": permissions(SALES),
        "intruder": permissions(RELAY),
    }
    created: list[str] = []
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        for role, name in users.names.items():
            rabbitmqctl("add_user", name, users.password)
            created.append(name)
            may = granted[role]
            rabbitmqctl("set_permissions", "-p", vhost, name, may.configure, may.write, may.read)
        yield users
    finally:
        for name in created:
            rabbitmqctl("delete_user", name)
        rabbitmqctl("delete_vhost", vhost)  # and every exchange and queue in it


@pytest.fixture
async def admin(broker_users: BrokerUsers) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(broker_users.admin_url)
    try:
        yield connection
    finally:
        await connection.close()


async def exists(admin: AbstractRobustConnection, kind: str, name: str) -> bool:
    channel = await admin.channel()
    try:
        if kind == "exchange":
            await channel.get_exchange(name, ensure=True)
        else:
            await channel.get_queue(name, ensure=True)
    except ChannelNotFoundEntity:
        return False
    await channel.close()
    return True


@dataclass
class RunningConsumer:
    applied: list[str]
    stopping: asyncio.Event
    task: asyncio.Task[None]


@pytest.fixture
async def sales_consumer(
    broker_users: BrokerUsers, admin: AbstractRobustConnection, consumer_db: ConsumerDb
) -> AsyncIterator[Callable[[], Any]]:
    """Starts a consumer of `order.#` as the consumer user, trusting the relay user alone."""
    running: list[tuple[RunningConsumer, AbstractRobustConnection]] = []

    async def start() -> RunningConsumer:
        applied: list[str] = []
        handlers = Handlers()

        @handlers.on("order.placed")
        async def count(delivery: Delivery) -> None:
            applied.append(delivery.event.aggregate_id)
            await Tally.get_pymongo_collection().update_one(
                {"_id": delivery.event.aggregate_id}, {"$inc": {"total": 1}}, upsert=True
            )

        connection = connect(
            broker_users.url("consumer"), name="bbtest-sales", reconnect_interval=0.2
        )
        stopping = asyncio.Event()
        task = asyncio.create_task(
            run_consumer(
                EventConsumer("sales", handlers),
                connection,
                topology=Topology(
                    exchange=EXCHANGE, queue=QUEUE, patterns=("order.#",), max_deliveries=3
                ),
                prefetch=8,
                metrics=ConsumerMetrics("sales"),
                backoff=Backoff(0.01, 0.05),
                stopping=stopping,
                trusted=TrustedPublishers([broker_users.names["relay"]]),
            )
        )
        run = RunningConsumer(applied, stopping, task)
        running.append((run, connection))

        async def consuming() -> bool:
            if task.done():
                task.result()
            return await exists(admin, "queue", QUEUE)

        await eventually(consuming, within=15)
        return run

    try:
        yield start
    finally:
        for run, connection in running:
            run.stopping.set()
            await asyncio.wait_for(run.task, 30)
            await connection.close()


async def publish_as(
    url: str, message: aio_pika.Message, *, exchange: str = EXCHANGE, key: str = "order.placed"
) -> None:
    """Publishes with confirms as the user of `url`; raises what the broker answers."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        events = await channel.get_exchange(exchange, ensure=False)
        await events.publish(message, routing_key=key)
    finally:
        await connection.close()


async def test_only_events_the_relay_published_are_applied(
    broker_users: BrokerUsers,
    admin: AbstractRobustConnection,
    mongodb_url: str,
    consumer_db: ConsumerDb,
    sales_consumer: Callable[[], Any],
    test_id: str,
) -> None:
    settings = relay_settings(
        mongodb_url=mongodb_url,
        database=consumer_db.database.name,
        exchange=EXCHANGE,
        relay_id=test_id,
        amqp_url="amqp://nobody:nothing@127.0.0.1:5672/",  # unused: the relay has its own URL
        relay_amqp_url=broker_users.url("relay"),
        archive_queue=ARCHIVE,
    )
    async with running_relay(settings):
        await eventually(lambda: exists(admin, "exchange", EXCHANGE), within=15)
        sales = await sales_consumer()
        await record_many("order", ["o-1", "o-2"], name="placed")
        await eventually(lambda: _equal(sorted(sales.applied), ["o-1", "o-2"]), within=40)

        intruder = broker_users.url("intruder")
        await publish_as(intruder, _placed("x-own", broker_users.names["intruder"]))
        await publish_as(intruder, _placed("x-none", None))
        with pytest.raises(ChannelPreconditionFailed, match="user_id"):
            await publish_as(intruder, _placed("x-forged", broker_users.names["relay"]))

        channel = await admin.channel()
        dlq = await channel.get_queue(f"{QUEUE}.dlq", ensure=True)
        refused = [await take(dlq, within=15), await take(dlq, within=15)]
        assert {m.headers["aggregate_id"] for m in refused} == {"x-own", "x-none"}
        assert {m.headers[REASON] for m in refused} == {"untrusted-publisher"}
        await record_many("order", ["o-3"], name="placed")  # one more, after the intruders'
        await eventually(lambda: _equal(sorted(sales.applied), ["o-1", "o-2", "o-3"]), within=40)

    assert sorted(sales.applied) == ["o-1", "o-2", "o-3"]
    for applied_once in ("o-1", "o-2", "o-3"):
        tally = await Tally.get(applied_once)
        assert tally is not None and tally.total == 1
    for refused in ("x-own", "x-none", "x-forged"):
        assert await Tally.get(refused) is None
    assert await dlq.get(fail=False) is None  # the forged one never even reached the queue


async def test_the_consumer_cannot_publish_events_nor_the_relay_read_queues(
    broker_users: BrokerUsers, admin: AbstractRobustConnection
) -> None:
    setup = await admin.channel()
    await setup.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    await setup.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    consumer_user = broker_users.names["consumer"]
    message = _placed("c-1", consumer_user)

    with pytest.raises(ChannelAccessRefused, match=EXCHANGE):
        await publish_as(broker_users.url("consumer"), message)

    relay = await aio_pika.connect(broker_users.url("relay"))
    try:
        channel = await relay.channel()
        queue = await channel.get_queue(QUEUE, ensure=False)
        with pytest.raises(ChannelAccessRefused, match=QUEUE):
            await queue.get(fail=False)
    finally:
        await relay.close()


def _placed(aggregate_id: str, user_id: str | None) -> aio_pika.Message:
    return event_message("order.placed", {"n": 0}, aggregate_id=aggregate_id, user_id=user_id)


async def _equal(found: list[str], expected: list[str]) -> bool:
    return found == expected


def test_the_sales_user_may_declare_and_read_ordered_mode_objects_and_no_others() -> None:
    may = permissions(SALES)
    own = [f"{QUEUE}.hash", *(f"{QUEUE}.{n}" for n in (0, 7, 255))]
    assert all(may.allows(kind, name) for kind in ("configure", "write", "read") for name in own)
    others = [
        f"{QUEUE}x.1",
        f"{QUEUE}.1x",
        f"{QUEUE}.hash.1",
        "boundbox.billing.0",
        "other.sales.0",
    ]
    assert not any(
        may.allows(kind, name) for kind in ("configure", "write", "read") for name in others
    )


async def test_an_ordered_consumer_runs_with_the_sales_users_permissions(
    broker_users: BrokerUsers,
    admin: AbstractRobustConnection,
    consumer_db: ConsumerDb,
    consistent_hash: None,
    test_id: str,
) -> None:
    setup = await admin.channel()
    await setup.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    applied: list[str] = []
    handlers = Handlers()

    @handlers.on("order.placed")
    async def record(delivery: Delivery) -> None:
        applied.append(f"{delivery.event.aggregate_id}:{delivery.event.aggregate_version}")

    connection = connect(
        broker_users.url("consumer"), name=f"test:{test_id}", reconnect_interval=0.2
    )
    stopping, consuming = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_consumer(
            EventConsumer("sales", handlers),
            connection,
            topology=Topology(
                exchange=EXCHANGE,
                queue=QUEUE,
                patterns=("order.placed",),
                max_deliveries=3,
                partitions=4,
            ),
            prefetch=8,
            metrics=ConsumerMetrics("sales"),
            backoff=Backoff(0.01, 0.05),
            stopping=stopping,
            consuming=consuming,
            trusted=TrustedPublishers([broker_users.names["relay"]]),
            ordering=Ordering(member=test_id, heartbeat=0.2, expiry=1.0),
        )
    )
    try:

        async def started() -> bool:
            if task.done():
                task.result()  # raises what stopped it, e.g. ACCESS_REFUSED
            return consuming.is_set()

        await eventually(started, within=15)
        relay = broker_users.url("relay")
        for version in (1, 2):
            message = event_message(
                "order.placed",
                {"n": 0},
                aggregate_id="o-1",
                version=version,
                user_id=broker_users.names["relay"],
            )
            await publish_as(relay, message)
        await eventually(lambda: _equal(applied, ["o-1:1", "o-1:2"]), within=15)
    finally:
        stopping.set()
        await asyncio.wait_for(task, 30)
        await connection.close()
