"""The archive stream on the real broker: its declaration, replays, the reader, the migration."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from relay.archive import (
    MIGRATING_SUFFIX,
    ArchiveNotAsConfiguredError,
    Offset,
    Retention,
    archived_message_ids,
    read_stream,
    stream_end,
)
from relay.archive_migration import ArchiveMigrationError, migrate
from tests.relay.support import AMQP_URL, ROOT, record_many, running_relay
from tests.support.processes import eventually, free_port

type Database = AsyncDatabase[dict[str, object]]
RETENTION = Retention(max_bytes=50_000_000, max_age="30D", segment_bytes=1_000_000)
OLD_ARCHIVE = {"x-queue-type": "quorum", "x-max-length": 100_000, "x-overflow": "drop-head"}


@dataclass
class Broker:
    """A connection for the test, and every queue and exchange it names, deleted afterwards."""

    connection: AbstractConnection
    exchange: str
    archive: str
    created: list[tuple[str, str]] = field(default_factory=list)

    @property
    def temporary(self) -> str:
        return self.archive + MIGRATING_SUFFIX

    async def channel(self) -> AbstractChannel:
        return await self.connection.channel()

    async def declare(self, name: str, arguments: dict[str, Any]) -> None:
        await (await self.channel()).declare_queue(name, durable=True, arguments=arguments)

    async def publish(
        self,
        queue: str,
        ids: list[str],
        *,
        exchange: bool = False,
        at_once: bool = False,
        user_id: str | None = None,
    ) -> None:
        """Messages `ids` into `queue` (through the test's exchange, else directly), confirmed
        one by one, or `at_once` (the broker then writes them in large chunks)."""
        channel = await self.connection.channel(publisher_confirms=True)
        target = channel.default_exchange
        if exchange:
            target = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await (await channel.declare_queue(queue, passive=True)).bind(target, "#")
        publishing = [
            target.publish(
                aio_pika.Message(
                    json.dumps({"n": n}).encode(),
                    message_id=message_id,
                    content_type="application/json",
                    type="order.placed",
                    correlation_id=f"c-{n}",
                    headers={"aggregate_id": f"o-{n % 7}", "aggregate_version": n},
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=user_id,
                ),
                routing_key=f"order.{n % 3}" if exchange else queue,
            )
            for n, message_id in enumerate(ids)
        ]
        if at_once:
            await asyncio.gather(*publishing)
        for one in publishing if not at_once else ():
            await one
        await channel.close()

    async def read(self, queue: str, start: Offset = "first") -> list[aio_pika.IncomingMessage]:
        """The stream's messages from `start` to its end now."""
        end = await stream_end(await self.channel(), queue, wait=2, settle=0.5)
        reading = read_stream(await self.channel(), queue, start=start, until=end, idle_timeout=5)
        async with aclosing(reading) as messages:
            return [message async for message in messages]  # type: ignore[misc]

    async def ids(self, queue: str, start: Offset = "first") -> list[str]:
        return [message.message_id or "" for message in await self.read(queue, start)]

    async def message_count(self, queue: str) -> int:
        """The count the broker reports for `queue` (a stream's lags its publishes)."""
        channel = await self.channel()
        declared = await channel.declare_queue(queue, passive=True)
        await channel.close()
        return declared.declaration_result.message_count or 0

    async def exists(self, name: str) -> bool:
        channel = await self.channel()
        try:
            await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return False
        await channel.close()
        return True


@pytest.fixture
async def broker(exchange: str, test_id: str) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(
        AMQP_URL, client_properties={"connection_name": f"{test_id} archive"}
    )
    broker = Broker(connection, exchange, f"{exchange}.archive")
    try:
        yield broker
    finally:
        channel = await connection.channel()
        for queue in (broker.archive, broker.temporary):
            await channel.queue_delete(queue)
        for name in (exchange, f"{broker.archive}.copy", f"{broker.temporary}.copy"):
            await channel.exchange_delete(name)
        await connection.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def queue_info(name: str) -> dict[str, Any]:
    """Type and arguments of a queue, as `rabbitmqctl list_queues` reports them."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "type", "arguments", "--formatter", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    (row,) = [row for row in json.loads(out) if row["name"] == name]
    return {"type": row["type"], **{key: value for key, _, value in row["arguments"]}}


def archive_settings(settings_for: Callable[..., Settings], broker: Broker) -> Settings:
    return settings_for(
        archive_queue=broker.archive,
        archive_max_bytes=RETENTION.max_bytes,
        archive_max_age=RETENTION.max_age,
        archive_segment_bytes=RETENTION.segment_bytes,
    )


async def published(database: Database, count: int) -> None:
    async def all_published() -> bool:
        return await database["outbox"].count_documents({"status": "published"}) >= count

    await eventually(all_published, within=20)


async def next_second() -> datetime:
    """Waits until the wall clock enters a new second (stream timestamps count seconds)."""
    start = int(time.time())

    async def ticked() -> bool:
        return int(time.time()) > start

    await eventually(ticked, within=3, interval=0.01)
    return datetime.fromtimestamp(int(time.time()), UTC)


async def test_the_relay_archives_every_event_in_a_stream_replayable_from_any_point(
    recording: None,
    broker: Broker,
    settings_for: Callable[..., Settings],
    database: Database,
) -> None:
    async with running_relay(archive_settings(settings_for, broker)):
        first = [str(e.id) for e in await record_many("invoice", ["i-1", "i-2", "i-1"])]
        await published(database, 3)
        since = await next_second()
        later = [str(e.id) for e in await record_many("order", ["o-1", "o-2"])]
        await published(database, 5)

    assert queue_info(broker.archive) == {
        "type": "stream",
        "x-queue-type": "stream",
        "x-max-length-bytes": 50_000_000,
        "x-max-age": "30D",
        "x-stream-max-segment-size-bytes": 1_000_000,
    }
    everything = await broker.read(broker.archive)
    assert [m.message_id for m in everything] == first + later
    assert [m.routing_key for m in everything] == ["invoice.changed"] * 3 + ["order.changed"] * 2
    assert [m.headers["x-stream-offset"] for m in everything] == [0, 1, 2, 3, 4]
    assert await broker.ids(broker.archive, start=2) == first[2:] + later
    assert await broker.ids(broker.archive, start=since) == later
    assert await archived_message_ids(AMQP_URL, broker.archive) == set(first + later)


async def test_the_reader_returns_the_ids_archived_and_nothing_for_an_empty_archive(
    broker: Broker,
) -> None:
    await broker.declare(broker.archive, RETENTION.arguments())
    assert await archived_message_ids(AMQP_URL, broker.archive, idle_timeout=0.5) == set()
    ids = [f"e-{n}" for n in range(3000)]
    await broker.publish(broker.archive, ids[:1000])
    await broker.publish(broker.archive, ids[1000:], at_once=True)  # its last chunk is large
    assert await archived_message_ids(AMQP_URL, broker.archive) == set(ids)
    assert await archived_message_ids(AMQP_URL, broker.archive, expected=3000) == set(ids)
    # Offsets increase, but not one by one: a new segment (1 MB here) starts with an entry of
    # the broker's own that takes an offset.
    offsets = {
        m.message_id: m.headers["x-stream-offset"] for m in await broker.read(broker.archive)
    }
    assert list(offsets) == ids and sorted(offsets.values()) == list(offsets.values())
    later = [i for i in ids if offsets[i] >= 2990]
    assert await broker.ids(broker.archive, start=2990) == later


async def test_a_quorum_archive_stops_the_relay_with_one_line_naming_the_migration(
    broker: Broker, mongodb_url: str, database: Database
) -> None:
    await broker.declare(broker.archive, OLD_ARCHIVE)
    await broker.publish(broker.archive, ["old-1"])
    env = {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": database.name,
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": broker.exchange,
        "ARCHIVE_QUEUE": broker.archive,
        "RELAY_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    relay = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "boundbox", "relay",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            _, stderr = await relay.communicate()
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()
    last = stderr.decode().strip().splitlines()[-1]
    assert relay.returncode == 2, stderr.decode()
    assert last.startswith(f"boundbox: configuration error: ARCHIVE_QUEUE {broker.archive!r}")
    assert "inequivalent arg" in last
    assert last.endswith(
        "run `boundbox archive migrate` to turn it into that stream, every event kept"
    )
    assert queue_info(broker.archive)["type"] == "quorum"  # untouched, its message too
    info = await (await broker.channel()).declare_queue(broker.archive, passive=True)
    assert info.declaration_result.message_count == 1


async def test_the_relay_does_not_start_while_a_migration_is_unfinished(
    broker: Broker, settings_for: Callable[..., Settings]
) -> None:
    await broker.declare(broker.temporary, {"x-queue-type": "stream"})
    with pytest.raises(ArchiveNotAsConfiguredError, match="is being migrated"):
        async with running_relay(archive_settings(settings_for, broker)) as relay:
            await relay.task


async def test_boundbox_archive_migrate_moves_the_quorum_archive_into_a_stream_in_order(
    broker: Broker,
) -> None:
    ids = [f"old-{n}" for n in range(1200)]
    await broker.declare(broker.archive, OLD_ARCHIVE)
    await broker.publish(broker.archive, ids, exchange=True)
    env = {
        **os.environ,
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": broker.exchange,
        "ARCHIVE_QUEUE": broker.archive,
        "ARCHIVE_MAX_BYTES": str(RETENTION.max_bytes),
        "ARCHIVE_MAX_AGE": RETENTION.max_age,
    }
    command = [sys.executable, "-m", "boundbox", "archive", "migrate"]
    done = await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{broker.archive}: now a stream {{'x-queue-type': 'stream', 'x-max-length-bytes': "
        "50000000, 'x-max-age': '30D'}, 1200 events moved into it"
    )
    assert queue_info(broker.archive)["type"] == "stream"
    assert not await broker.exists(broker.temporary)
    moved = await broker.read(broker.archive)
    assert [m.message_id for m in moved] == ids
    assert [m.routing_key for m in moved] == [f"order.{n % 3}" for n in range(1200)]
    assert moved[7].headers == {"aggregate_id": "o-0", "aggregate_version": 7, "x-stream-offset": 7}
    assert (moved[7].type, moved[7].correlation_id) == ("order.placed", "c-7")
    assert (moved[7].content_type, json.loads(moved[7].body)) == ("application/json", {"n": 7})

    await broker.publish(broker.archive, ["new-1"], exchange=True)  # still bound to every event
    assert (await broker.ids(broker.archive))[-1] == "new-1"
    again = await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert (
        again.stdout.strip()
        == f"{broker.archive}: already the stream configured, nothing to migrate"
    )


async def test_a_stream_with_other_retention_is_migrated_into_the_configured_one(
    broker: Broker,
) -> None:
    ids = [f"e-{n}" for n in range(300)]
    await broker.declare(broker.archive, {"x-queue-type": "stream", "x-max-age": "1Y"})
    await broker.publish(broker.archive, ids)
    # RabbitMQ reports a stream's message count a moment after a publish, as it does for any
    # archive that has been there a while: a stream that reports messages is still a stream.
    await eventually(lambda: broker.message_count(broker.archive), within=30)
    done = await migrate(
        AMQP_URL, broker.archive, RETENTION, exchange=broker.exchange, idle_timeout=5
    )
    assert (done.found, done.moved) == ("stream", 300)
    assert queue_info(broker.archive)["x-max-age"] == "30D"
    assert await broker.ids(broker.archive) == ids


async def test_a_queue_another_reader_holds_messages_of_is_not_deleted_under_it(
    broker: Broker,
) -> None:
    ids = [f"held-{n}" for n in range(20)]
    await broker.declare(broker.archive, OLD_ARCHIVE)
    await broker.publish(broker.archive, ids)
    reader = await broker.channel()  # takes every message and acknowledges none
    held: list[str] = []

    async def hold(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        held.append(message.message_id or "")

    await (await reader.declare_queue(broker.archive, passive=True)).consume(hold)
    await eventually(lambda: asyncio.sleep(0, len(held) == len(ids)))

    with pytest.raises(ArchiveMigrationError, match=r"has 1 consumer\(s\): the messages they hold"):
        await migrate(AMQP_URL, broker.archive, RETENTION, exchange=broker.exchange)

    assert not await broker.exists(broker.temporary)  # nothing changed
    await reader.close()  # they go back: a run now moves every one
    done = await migrate(AMQP_URL, broker.archive, RETENTION, exchange=broker.exchange)
    assert (done.found, done.moved) == ("queue", 20)
    assert await broker.ids(broker.archive) == ids


@pytest.mark.parametrize(
    "crashed",
    [
        "just after declaring the temporary stream",
        "copying, before acknowledging a batch",
        "copying, after acknowledging a batch",
        "after deleting the old queue",
        "copying back into the new stream",
    ],
)
async def test_a_rerun_finishes_an_interrupted_migration_without_loss_or_duplicates(
    broker: Broker, crashed: str
) -> None:
    ids = [f"old-{n}" for n in range(700)]
    half = ids[:350]
    await broker.declare(broker.temporary, {"x-queue-type": "stream"})
    match crashed:
        case "just after declaring the temporary stream":
            await broker.declare(broker.archive, OLD_ARCHIVE)
            await broker.publish(broker.archive, ids)
        case "copying, before acknowledging a batch":  # the old queue still holds them all
            await broker.declare(broker.archive, OLD_ARCHIVE)
            await broker.publish(broker.archive, ids)
            await broker.publish(broker.temporary, half)
        case "copying, after acknowledging a batch":
            await broker.declare(broker.archive, OLD_ARCHIVE)
            await broker.publish(broker.archive, ids[350:])
            await broker.publish(broker.temporary, half)
        case "after deleting the old queue":
            await broker.publish(broker.temporary, ids)
        case "copying back into the new stream":
            await broker.publish(broker.temporary, ids)
            await broker.declare(broker.archive, RETENTION.arguments())
            await broker.publish(broker.archive, half)

    done = await migrate(AMQP_URL, broker.archive, RETENTION, exchange=broker.exchange)

    assert done.resumed
    assert queue_info(broker.archive)["type"] == "stream"
    assert await broker.ids(broker.archive) == ids
    assert not await broker.exists(broker.temporary)


@pytest.fixture
def migrator() -> Iterator[str]:
    """A broker user of its own (deleted afterwards) allowed the test's names on vhost `/`."""
    name, password = f"bbtest-migrator-{secrets.token_hex(4)}", secrets.token_hex(12)
    rabbitmqctl("add_user", name, password)
    try:
        rabbitmqctl(
            "set_permissions", "-p", "/", name, r"^bbtest\..*", r"^bbtest\..*", r"^bbtest\..*"
        )
        yield f"amqp://{name}:{password}@127.0.0.1:5672/"
    finally:
        rabbitmqctl("delete_user", name)


async def test_messages_of_another_publisher_stop_the_migration_until_it_may_keep_their_user_id(
    broker: Broker, migrator: str
) -> None:
    ids = [f"old-{n}" for n in range(50)]
    await broker.declare(broker.archive, OLD_ARCHIVE)
    await broker.publish(broker.archive, ids, user_id="guest")

    with pytest.raises(ArchiveMigrationError, match="tagged impersonator"):
        await migrate(migrator, broker.archive, RETENTION, exchange=broker.exchange)
    assert queue_info(broker.archive)["type"] == "quorum"

    done = await migrate(AMQP_URL, broker.archive, RETENTION, exchange=broker.exchange)
    assert done.resumed
    moved = await broker.read(broker.archive)
    assert [(m.message_id, m.user_id) for m in moved] == [(i, "guest") for i in ids]


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("ARCHIVE_MAX_LENGTH", "100000", "ARCHIVE_MAX_LENGTH: no longer used: the archive is a"),
        ("ARCHIVE_MAX_AGE", "7 days", "ARCHIVE_MAX_AGE: must be empty (no age limit) or a number"),
        ("ARCHIVE_MAX_BYTES", "1000", "ARCHIVE_MAX_BYTES: Input should be greater than or equal"),
        ("ARCHIVE_QUEUE", "", "ARCHIVE_QUEUE is not set: there is no archive to migrate"),
    ],
)
def test_archive_settings_are_checked_with_one_line(variable: str, value: str, line: str) -> None:
    env = {**os.environ, "ARCHIVE_QUEUE": "bbtest.unused", variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "boundbox", "archive", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"boundbox: configuration error: {line}")
    assert len(done.stderr.splitlines()) == 1
