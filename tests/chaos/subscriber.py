"""A witness on the broker: a queue bound to the scenario's exchange with `#`, recording ids."""

from __future__ import annotations

from collections import Counter

from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)


class Subscriber:
    """Counts every message the exchange routes, by message id (duplicates included).

    Its queue is exclusive to the test's own connection, straight to RabbitMQ (never through
    a scenario's proxy), so it sees what reached the broker whatever the components go through.
    """

    def __init__(self, connection: AbstractRobustConnection, *, exchange: str, queue: str) -> None:
        self._connection = connection
        self._exchange = exchange
        self._queue_name = queue
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self.deliveries: Counter[str] = Counter()
        self.types: dict[str, str] = {}

    async def start(self) -> Subscriber:
        """Returns once bound: every message published from now on is counted."""
        self._channel = await self._connection.channel()
        exchange = await self._channel.get_exchange(self._exchange)
        self._queue = await self._channel.declare_queue(
            self._queue_name, exclusive=True, auto_delete=True
        )
        await self._queue.bind(exchange, routing_key="#")
        self._tag = await self._queue.consume(self._on_message, no_ack=True)
        return self

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        message_id = message.message_id or f"<no message id: {message.body[:80]!r}>"
        self.deliveries[message_id] += 1
        self.types[message_id] = message.type or ""

    @property
    def ids(self) -> set[str]:
        return set(self.deliveries)

    @property
    def duplicates(self) -> int:
        return sum(self.deliveries.values()) - len(self.deliveries)

    async def close(self) -> None:
        if self._channel is None or self._channel.is_closed:
            return
        if self._queue is not None and self._tag is not None:
            await self._queue.cancel(self._tag)
        await self._channel.close()
