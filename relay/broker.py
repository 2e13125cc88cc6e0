"""RabbitMQ for the relay: one connection and one confirm channel, re-established after failures.

Publishing is `mandatory` with publisher confirms: a confirmed message reached a queue, a
returned or nacked one is the event's failure, and anything else (a dropped connection, a
closed channel) is the broker's, which costs the event nothing and is retried after reconnecting.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, TimeoutType
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aiormq.exceptions import ChannelInvalidStateError, DeliveryError, PublishError

from outbox.amqp import broker_address, describe_broker_error
from relay.archive import (
    DEFAULT_RETENTION,
    ArchiveNotAsConfiguredError,
    Retention,
    declare_archive,
)
from relay.errors import BrokerUnavailableError, PublishRefusedError
from relay.frames import UnencodableMessageError
from relay.health import Backoff, Dependency
from relay.messages import Outgoing
from relay.pipeline import Pipeline

log = logging.getLogger("boundbox.relay.broker")

# aio-pika's own list of what a lost or refused connection raises (aiormq ends a handshake with
# a connection already at EOF with StopAsyncIteration, for one), and confirms that timed out.
_TRANSPORT_ERRORS = (*CONNECTION_EXCEPTIONS, ChannelInvalidStateError, TimeoutError)


def _cancelled_by_broker(error: asyncio.CancelledError) -> bool:
    """aiormq cancels pending confirms when the connection drops: not *our* cancellation."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0 and bool(error.args)


class _Connection(aio_pika.Connection):
    """A connection that closes itself when its connect fails.

    aio-pika leaves a failed connection to the garbage collector, which then schedules its
    close on whatever loop is current, or drops the coroutine when none is: closed here, it
    is finished on the loop that made it.
    """

    async def connect(self, timeout: TimeoutType = None) -> None:  # noqa: ASYNC109 (aio-pika's signature)
        try:
            await super().connect(timeout)
        except BaseException:
            await self.close()
            raise


class Broker:
    def __init__(
        self,
        url: str,
        exchange_name: str,
        *,
        connection_name: str,
        connect_timeout: float,
        state: Dependency,
        archive_queue: str = "",
        archive_retention: Retention | None = None,
    ) -> None:
        self._url = url
        self._exchange_name = exchange_name
        self._archive_queue = archive_queue
        self._archive_retention = archive_retention or DEFAULT_RETENTION
        self._connection_name = connection_name
        self._connect_timeout = connect_timeout
        self.state = state
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._pipeline: Pipeline | None = None
        """On the confirm channel itself: no per-message wrapping, one write per loop turn."""

    @property
    def exchange_name(self) -> str:
        return self._exchange_name

    @property
    def ready(self) -> bool:
        return (
            self._exchange is not None
            and self._pipeline is not None
            and self._connection is not None
            and not self._connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def connect(self) -> None:
        """One attempt: connection, confirm channel, the durable topic exchange declared."""
        await self.close()
        try:
            self._connection = await aio_pika.connect(
                self._url,
                client_properties={"connection_name": self._connection_name},
                timeout=self._connect_timeout,
                connection_class=_Connection,
            )
            self._connection.close_callbacks.add(self._on_close)
            self._channel = await self._connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            self._exchange = await self._channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            if self._archive_queue:
                await declare_archive(
                    self._connection,
                    self._archive_queue,
                    self._archive_retention,
                    exchange=self._exchange_name,
                )
            underlay = cast("aiormq.Channel", await self._channel.get_underlay_channel())
            self._pipeline = Pipeline(underlay, self._exchange_name)
        except ArchiveNotAsConfiguredError:
            await self.close()
            raise  # not the broker's failure: the relay stops
        except _TRANSPORT_ERRORS as e:
            await self.close()
            raise BrokerUnavailableError(self._failure(e)) from e
        self.state.up(f"exchange={self._exchange_name!r}")

    async def ensure(self, stop: asyncio.Event) -> bool:
        """Connects if needed, retrying with backoff; False when `stop` was set first."""
        backoff = Backoff(first=0.1, ceiling=5.0)
        while not self.ready:
            if stop.is_set():
                return False
            try:
                await self.connect()
            except BrokerUnavailableError as e:
                self.state.down(str(e))
                await backoff.sleep(stop)
        return True

    async def publish(self, outgoing: Outgoing) -> None:
        """Publishes and waits for the confirm; PublishRefusedError or BrokerUnavailableError."""
        pipeline = self._pipeline
        if pipeline is None or not self.ready:
            raise BrokerUnavailableError("not connected")
        try:
            await pipeline.publish(outgoing)  # the awaited confirm is the backpressure
        except UnencodableMessageError as e:
            raise PublishRefusedError(f"not encodable as AMQP: {e}") from e
        except PublishError as e:
            raise PublishRefusedError(f"returned by the broker: {_describe(e)}") from e
        except DeliveryError as e:
            raise PublishRefusedError(f"nacked by the broker: {_describe(e)}") from e
        except _TRANSPORT_ERRORS as e:
            self.lost(e)
            raise BrokerUnavailableError(_describe(e)) from e
        except asyncio.CancelledError as e:
            if not _cancelled_by_broker(e):
                raise
            self.lost(e)
            raise BrokerUnavailableError(_describe(e)) from e

    def lost(self, error: BaseException) -> None:
        """The connection is unusable (a failure, or confirms that never came)."""
        self.state.down(self._failure(error))
        self._exchange = self._pipeline = None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = self._pipeline = None
        if connection is None:
            return
        connection.close_callbacks.discard(self._on_close)
        try:
            await connection.close()
        except _TRANSPORT_ERRORS:
            pass  # closing what already failed
        except asyncio.CancelledError as e:
            if not _cancelled_by_broker(e):
                raise

    def _failure(self, error: BaseException) -> str:
        """Why the broker is unusable, naming it (without password): one line, no repr."""
        return f"{describe_broker_error(error, self._url)} ({broker_address(self._url)})"

    def _on_close(self, _: object, error: BaseException | None = None) -> None:
        if error is not None:
            self.lost(error)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
