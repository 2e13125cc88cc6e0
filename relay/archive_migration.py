"""`boundbox archive migrate`: the archive queue becomes the stream configured, every event kept.

Q is the archive, T the stream `<Q>.migrating` (no retention). What a run does depends on what
it finds, so that re-running after a crash at any point finishes the job:

    Q missing               T missing   nothing to migrate
    Q the stream configured T missing   nothing to migrate (done)
    Q anything else         T missing   declare T, then as on the next line
    Q anything else         T present   1. unbind Q, copy it into T, delete it; then 2.
    Q missing               T present   2. declare Q, copy T into it, bind it to `#`, delete T
    Q the stream configured T present   Q holds the start of T only (step 2 was cut short):
                                        delete Q, then 2.

Step 1 skips what T holds already (an earlier run's copies), so nothing is copied twice: a
message is known by its message id (else by a digest of its routing key and body, which
becomes its copy's id). A copy publishes in order with publisher confirms, through a fanout
exchange so that each message keeps its routing key, properties and headers, and takes a
message off a quorum or classic queue only once its copy is confirmed. A stream is read up to
an end marker the run appends to it (AMQP tells a client nowhere where a stream ends); markers
are never copied. While T exists the relay refuses to start, so nothing else writes to Q or T.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal, cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue
from aiormq.exceptions import AMQPError, ChannelNotFoundEntity, ChannelPreconditionFailed

from relay.archive import MIGRATING_SUFFIX, Retention, queue_exists, read_stream
from relay.errors import RelayError
from relay.messages import Outgoing
from relay.pipeline import Pipeline

BATCH = 500
BURST_GAP = 0.25
"""Seconds without a delivery that end a batch read from a queue."""
PROGRESS_EVERY = 10_000
END_MARKER = "x-boundbox-migration-end"
"""The header of the marker a run appends to a stream it reads to the end (never copied)."""
_BROKER_HEADERS = ("x-stream-offset", "x-delivery-count")
"""Headers the broker adds on delivery: not part of the message."""

type Kind = Literal["missing", "configured", "stream", "queue"]
type Progress = Callable[[str], None]


class ArchiveMigrationError(RelayError):
    """The migration stopped; running it again resumes it."""


@dataclass(frozen=True)
class Migration:
    """What a run did: `moved` messages now in the stream `queue` that were not before."""

    queue: str
    moved: int
    found: Kind
    resumed: bool


async def migrate(
    amqp_url: str,
    queue: str,
    retention: Retention,
    *,
    exchange: str,
    progress: Progress = lambda _: None,
    idle_timeout: float = 30.0,
) -> Migration:
    """Turns `queue` into the stream `retention` describes, bound to `exchange` with `#`."""
    connection = await aio_pika.connect(
        amqp_url, client_properties={"connection_name": f"boundbox archive migrate {queue}"}
    )
    try:
        return await _Run(connection, queue, retention, exchange, progress, idle_timeout).run()
    except AMQPError as e:
        raise ArchiveMigrationError(f"{type(e).__name__}: {e}") from e
    finally:
        await connection.close()


class _Run:
    def __init__(
        self,
        connection: AbstractConnection,
        queue: str,
        retention: Retention,
        exchange: str,
        progress: Progress,
        idle_timeout: float,
    ) -> None:
        self.connection, self.queue, self.retention = connection, queue, retention
        self.temporary = queue + MIGRATING_SUFFIX
        self.exchange, self.progress, self.idle_timeout = exchange, progress, idle_timeout

    async def run(self) -> Migration:
        found = await self._kind()
        resumed = await queue_exists(self.connection, self.temporary)
        if not resumed and found in ("missing", "configured"):
            return Migration(self.queue, 0, found, resumed)
        channel = await self.connection.channel()
        if found == "queue":  # before anything changes
            _refuse_while_read(await channel.declare_queue(self.queue, passive=True))
        await channel.declare_queue(
            self.temporary, durable=True, arguments={"x-queue-type": "stream"}
        )
        if found in ("stream", "queue"):
            await self._unbind()
            copied = await self._keys(self.temporary) if resumed else set()
            if found == "queue":
                await self._drain(copied)
            else:
                await self._copy_stream(self.queue, self.temporary, copied)
            await channel.queue_delete(self.queue)
            self.progress(f"deleted the old {self.queue!r}")
        elif found == "configured":  # interrupted in step 3: Q holds the start of T, no more
            await channel.queue_delete(self.queue)
        await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        target = await channel.declare_queue(
            self.queue, durable=True, arguments=self.retention.arguments()
        )
        moved = await self._copy_stream(self.temporary, self.queue, set())
        await target.bind(self.exchange, "#")  # new events only after the old ones
        await channel.queue_delete(self.temporary)
        await channel.exchange_delete(f"{self.temporary}.copy")  # left by a crash in step 1
        await channel.close()
        return Migration(self.queue, moved, found, resumed)

    async def _kind(self) -> Kind:
        if not await queue_exists(self.connection, self.queue):
            return "missing"
        channel = await self.connection.channel()
        try:
            await channel.declare_queue(
                self.queue, durable=True, arguments=self.retention.arguments()
            )
        except ChannelPreconditionFailed:
            return "stream" if await self._is_stream() else "queue"
        await channel.close()
        return "configured"

    async def _is_stream(self) -> bool:
        """Only a stream takes a consumer at a stream offset: a classic or quorum queue refuses
        one before delivering anything. (A message count tells nothing: RabbitMQ reports a
        stream's a moment after each publish, so a settled stream reports its messages.)"""
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=1)  # a stream refuses a consumer without one
        queue = await channel.declare_queue(self.queue, passive=True)
        try:
            tag = await queue.consume(_ignore, arguments={"x-stream-offset": "next"})
        except ChannelPreconditionFailed:
            return False
        await queue.cancel(tag)
        await channel.close()
        return True

    async def _unbind(self) -> None:
        """The old queue gets no more events (from a relay still running: stop them first)."""
        channel = await self.connection.channel()
        try:
            await (await channel.declare_queue(self.queue, passive=True)).unbind(self.exchange, "#")
        except ChannelNotFoundEntity:
            return
        await channel.close()

    async def _keys(self, stream: str) -> set[str]:
        """The keys of every message `stream` holds."""
        return {_key(message) async for message in self._through_end(stream)}

    async def _through_end(self, stream: str) -> AsyncGenerator[AbstractIncomingMessage]:
        """Every message of `stream` from the first to the end marker this call appends (a
        stream tells an AMQP client nowhere where it ends); end markers are left out."""
        end = f"boundbox-migration-end-{uuid.uuid4().hex}"
        channel = await self.connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(b"", message_id=end, headers={END_MARKER: True}), routing_key=stream
        )
        reading = read_stream(channel, stream, idle_timeout=self.idle_timeout)
        async with aclosing(reading) as messages:
            async for message in messages:
                if message.message_id == end:
                    await channel.close()
                    return
                if END_MARKER not in message.headers:
                    yield message
        raise ArchiveMigrationError(
            f"{stream!r} delivered nothing for {self.idle_timeout:g}s before its end"
        )

    async def _drain(self, copied: set[str]) -> None:
        """Moves the quorum or classic queue's messages into T, in order, until it is empty.

        A consumer with a prefetch of BATCH, acknowledging each batch once it is confirmed in
        T, until nothing comes for a moment; what was still on its way goes back to the queue
        when its channel closes, so the queue is read again until it reports no message.
        """
        while True:
            channel = await self.connection.channel()
            await channel.set_qos(prefetch_count=BATCH)
            source = await channel.declare_queue(self.queue, passive=True)
            _refuse_while_read(source)
            if not (left := source.declaration_result.message_count):
                await channel.close()
                return
            arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            tag = await source.consume(arrived.put)
            async with _Copier(self, self.temporary, copied, left) as copier:
                wait = self.idle_timeout
                while batch := await _batch(arrived, first_wait=wait):
                    await copier.publish(batch)
                    await batch[-1].ack(multiple=True)  # only once they are confirmed in T
                    wait = min(self.idle_timeout, 1.0)  # the next batch is on its way, or none
            await source.cancel(tag)
            await channel.close()

    async def _copy_stream(self, source: str, target: str, copied: set[str]) -> int:
        """Copies the stream `source`, from its first message to its last, into `target`."""
        reading = self._through_end(source)
        async with _Copier(self, target, copied, None) as copier, aclosing(reading) as messages:
            batch: list[AbstractIncomingMessage] = []
            async for message in messages:
                batch.append(message)
                if len(batch) >= BATCH:
                    await copier.publish(batch)
                    batch = []
            await copier.publish(batch)
        return copier.moved


class _Copier:
    """Publishes into one queue through a fanout exchange of its own, in order, with confirms
    (the relay's pipeline: each turn's messages leave in one write, in delivery-tag order)."""

    def __init__(self, run: _Run, target: str, copied: set[str], total: int | None) -> None:
        self.run, self.target, self.copied, self.total = run, target, copied, total
        self.route = f"{target}.copy"
        self.moved = 0
        self._pipeline: Pipeline | None = None

    async def __aenter__(self) -> _Copier:
        channel = await self.run.connection.channel()
        exchange = await channel.declare_exchange(
            self.route, aio_pika.ExchangeType.FANOUT, durable=True
        )
        await (await channel.declare_queue(self.target, passive=True)).bind(exchange)
        await channel.close()
        publishing = await self.run.connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        underlay = cast("aiormq.Channel", await publishing.get_underlay_channel())
        self._pipeline = Pipeline(underlay, self.route)
        return self

    async def __aexit__(self, *failure: object) -> None:
        if failure[0] is None:
            await (await self.run.connection.channel()).exchange_delete(self.route)
            if self.moved % PROGRESS_EVERY or not self.moved:  # else just reported
                self.run.progress(f"copied {self.moved} messages into {self.target!r}")

    async def publish(self, messages: list[AbstractIncomingMessage]) -> None:
        """Publishes those not copied yet, in order, and returns once all are confirmed."""
        assert self._pipeline is not None
        fresh: list[AbstractIncomingMessage] = []
        for message in messages:
            key = _key(message)
            if key not in self.copied:
                self.copied.add(key)
                fresh.append(message)
        pipeline = self._pipeline
        try:
            await asyncio.gather(*(pipeline.publish(_copy(message)) for message in fresh))
        except ChannelPreconditionFailed as e:
            if "user_id" not in str(e):
                raise
            raise ArchiveMigrationError(
                "RabbitMQ refused to copy a message's user_id (its publisher): run the migration "
                "as that user, or as one tagged impersonator (rabbitmqctl set_user_tags NAME "
                "administrator impersonator), and run it again"
            ) from None
        before, self.moved = self.moved, self.moved + len(fresh)
        if self.moved // PROGRESS_EVERY > before // PROGRESS_EVERY:
            of = f" of {self.total}" if self.total else ""
            self.run.progress(f"copied {self.moved}{of} messages into {self.target!r}")


async def _batch(
    arrived: asyncio.Queue[AbstractIncomingMessage], *, first_wait: float
) -> list[AbstractIncomingMessage]:
    """Up to BATCH deliveries: the first within `first_wait`, the others back to back."""
    batch: list[AbstractIncomingMessage] = []
    try:
        batch.append(await asyncio.wait_for(arrived.get(), first_wait))
        while len(batch) < BATCH:
            batch.append(await asyncio.wait_for(arrived.get(), BURST_GAP))
    except TimeoutError:
        pass
    return batch


def _refuse_while_read(queue: AbstractQueue) -> None:
    """A consumer of the old queue holds messages that would go with it when it is deleted."""
    if readers := queue.declaration_result.consumer_count:
        raise ArchiveMigrationError(
            f"{queue.name!r} has {readers} consumer(s): the messages they hold would go with "
            "the old queue; stop them and run again"
        )


async def _ignore(message: AbstractIncomingMessage) -> None:
    """A stream's delivery is not taken from it: there is nothing to give back."""


def _key(message: AbstractIncomingMessage) -> str:
    """Its message id; without one, a digest of its routing key and body (its copy's id)."""
    if message.message_id:
        return message.message_id
    digest = hashlib.sha256(f"{message.routing_key}\0".encode() + message.body)
    return f"sha256:{digest.hexdigest()}"


def _copy(message: AbstractIncomingMessage) -> Outgoing:
    """The same message: body, routing key, properties and its own headers."""
    headers = {k: v for k, v in message.headers.items() if k not in _BROKER_HEADERS}
    properties = aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=message.delivery_mode,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=_key(message),
        timestamp=message.timestamp,
        type=message.type,
        user_id=message.user_id,
        app_id=message.app_id,
    ).properties
    return Outgoing(routing_key=message.routing_key or "", body=message.body, properties=properties)
