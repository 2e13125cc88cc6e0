"""The archive: a RabbitMQ stream bound to every event (`#`), replayable from any offset.

A stream keeps what it is given until its retention (bytes, age) removes whole segments from
its start; any AMQP client reads it again from `x-stream-offset` "first", a number or a time.
The relay declares it on every connect. A queue of that name declared otherwise (the bounded
quorum queue of earlier versions, or a stream with other retention) stops the relay with one
line: `boundbox archive migrate` turns it into the stream configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aiormq.exceptions import ChannelNotFoundEntity, ChannelPreconditionFailed

from boundbox.errors import ConfigurationError
from relay.errors import RelayError, RelayStartError

MIGRATING_SUFFIX = ".migrating"
"""The temporary stream `boundbox archive migrate` fills while it replaces the archive."""
PREFETCH = 1000
"""Unacknowledged deliveries per stream consumer (RabbitMQ requires a prefetch on streams)."""

type Offset = str | int | datetime
"""An `x-stream-offset`: "first", "last", "next", an offset, or a time (second precision)."""


class ArchiveNotAsConfiguredError(RelayStartError, ConfigurationError):
    """The archive exists, but not as the stream the settings describe, or mid-migration."""


class ArchiveReadError(RelayError):
    """A stream stopped delivering before the end it had when the reading started."""


@dataclass(frozen=True)
class Retention:
    """The arguments of the archive stream; RabbitMQ keeps them for the stream's lifetime."""

    max_bytes: int
    max_age: str = ""
    segment_bytes: int = 0

    def arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"x-queue-type": "stream", "x-max-length-bytes": self.max_bytes}
        if self.max_age:
            arguments["x-max-age"] = self.max_age
        if self.segment_bytes:
            arguments["x-stream-max-segment-size-bytes"] = self.segment_bytes
        return arguments


DEFAULT_RETENTION = Retention(max_bytes=20 * 1000**3)


async def queue_exists(connection: AbstractConnection, name: str) -> bool:
    """A passive declare on a channel of its own (a missing queue closes the channel)."""
    channel = await connection.channel()
    try:
        await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return False
    with contextlib.suppress(Exception):
        await channel.close()
    return True


async def declare_archive(
    connection: AbstractConnection, name: str, retention: Retention, *, exchange: str
) -> None:
    """Declares the archive stream bound to `exchange` with `#`, or raises
    ArchiveNotAsConfiguredError naming what to do."""
    migrate = "stop the relays and run `boundbox archive migrate`"
    if await queue_exists(connection, name + MIGRATING_SUFFIX):
        raise ArchiveNotAsConfiguredError(
            f"ARCHIVE_QUEUE {name!r} is being migrated ({name + MIGRATING_SUFFIX!r} exists): "
            f"{migrate} until it reports done"
        )
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, durable=True, arguments=retention.arguments())
    except ChannelPreconditionFailed as e:
        raise ArchiveNotAsConfiguredError(
            f"ARCHIVE_QUEUE {name!r} is not the stream ARCHIVE_MAX_BYTES, ARCHIVE_MAX_AGE and "
            f"ARCHIVE_SEGMENT_BYTES describe ({_reason(e)}): {migrate} to turn it into "
            "that stream, every event kept"
        ) from None
    await queue.bind(exchange, "#")
    await channel.close()


def _reason(error: ChannelPreconditionFailed) -> str:
    """`inequivalent arg 'x-max-length' ...` out of the broker's reply text."""
    text = str(error.args[0] if error.args else error)
    _, _, detail = text.partition("PRECONDITION_FAILED - ")
    return (detail or text).split(" for queue ")[0].strip().strip('"')


async def stream_end(channel: AbstractChannel, name: str, *, wait: float, settle: float) -> int:
    """The offset of the stream's last message now; -1 when it is empty (nothing within `wait`).

    A consumer at "last" is given the stream's last chunk, whole and at once: the highest offset
    delivered before a pause of `settle` seconds is the end. (A passive declare of a stream
    reports 0 messages on RabbitMQ 3.10, and AMQP offers no other way to the committed offset.)
    """
    end = -1
    async with aclosing(_deliveries(channel, name, "last", first_wait=wait, idle=settle)) as last:
        async for message in last:
            end = max(end, stream_offset(message))
    return end


async def read_stream(
    channel: AbstractChannel,
    name: str,
    *,
    start: Offset = "first",
    until: int | None = None,
    idle_timeout: float = 5.0,
) -> AsyncGenerator[AbstractIncomingMessage]:
    """The stream's messages from `start` in order, acknowledged, up to offset `until`
    (included), or, with `until` None, until no message came for `idle_timeout` seconds.

    ArchiveReadError: no message came for `idle_timeout` seconds before offset `until`.
    """
    if until is not None and until < 0:
        return
    async with aclosing(_deliveries(channel, name, start, first_wait=idle_timeout)) as messages:
        async for message in messages:
            if isinstance(start, int) and stream_offset(message) < start:
                continue  # RabbitMQ delivers the whole chunk that holds `start`
            yield message
            if until is not None and stream_offset(message) >= until:
                return
    if until is not None:
        raise ArchiveReadError(
            f"{name!r} delivered nothing for {idle_timeout:g}s before offset {until}, its end"
        )


async def _deliveries(
    channel: AbstractChannel,
    name: str,
    start: Offset,
    *,
    first_wait: float,
    idle: float | None = None,
) -> AsyncGenerator[AbstractIncomingMessage]:
    """A consumer at `start`, ended after `first_wait` without any message, or `idle`
    (default: `first_wait`) seconds after the last one."""
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.declare_queue(name, passive=True)
    arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    tag = await queue.consume(arrived.put, arguments={"x-stream-offset": start})
    wait = first_wait
    unacknowledged = 0
    try:
        while True:
            try:
                message = await asyncio.wait_for(arrived.get(), wait)
            except TimeoutError:
                return
            wait = first_wait if idle is None else idle
            unacknowledged += 1
            if unacknowledged >= PREFETCH // 10 or arrived.empty():  # the prefetch's credit
                await message.ack(multiple=True)
                unacknowledged = 0
            yield message
    finally:
        if not channel.is_closed:
            await queue.cancel(tag)


def stream_offset(message: AbstractIncomingMessage) -> int:
    offset = message.headers.get("x-stream-offset")
    if not isinstance(offset, int):
        raise ValueError("a delivery without an x-stream-offset header: not from a stream")
    return offset


async def archived_message_ids(
    amqp_url: str,
    queue: str,
    *,
    expected: int | None = None,
    idle_timeout: float = 5.0,
) -> set[str]:
    """The message ids the archive stream `queue` holds, read from "first" to its end.

    The end is the stream's last offset when the call starts (`stream_end`: RabbitMQ 3.10
    reports no message count for a stream, and AMQP 0-9-1 no committed offset). With
    `expected`, the reading goes on past it until that many distinct ids were seen or no
    message came for `idle_timeout` seconds (events published meanwhile). A stream that
    delivers nothing from "last" within `idle_timeout` is empty.

    ArchiveReadError: the stream stopped delivering for `idle_timeout` before its end.
    """
    connection = await aio_pika.connect(
        amqp_url, client_properties={"connection_name": f"boundbox archive reader {queue}"}
    )
    ids: set[str] = set()
    try:
        channel = await connection.channel()
        end = await stream_end(channel, queue, wait=idle_timeout, settle=min(0.5, idle_timeout))
        if end < 0 and not expected:
            return ids
        channel = await connection.channel()
        last = -1
        async with aclosing(read_stream(channel, queue, idle_timeout=idle_timeout)) as messages:
            async for message in messages:
                if message.message_id:
                    ids.add(message.message_id)
                last = stream_offset(message)
                if last >= end and (expected is None or len(ids) >= expected):
                    break
        if last < end:
            raise ArchiveReadError(
                f"{queue!r} delivered nothing for {idle_timeout:g}s after offset {last}, "
                f"before its end {end}"
            )
    finally:
        await connection.close()
    return ids
