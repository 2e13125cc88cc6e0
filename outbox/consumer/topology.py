"""A consumer's queues, declared idempotently on every start and after every reconnection.

- `<queue>`: a durable quorum queue bound to the events exchange by routing-key patterns;
  `x-delivery-limit` dead-letters a message the broker has delivered too often (a consumer
  that crashes on it every time), `x-dead-letter-exchange` says where to.
- `<queue>.dlx`, a durable fanout exchange, into `<queue>.dlq`, a durable quorum queue: the
  messages that could not be handled, with the reason in their headers.

Redeclaring with other arguments fails (PRECONDITION_FAILED): to change the delivery limit of
an existing queue, delete it or use a broker policy.

The events exchange is the relay's: a consumer only looks it up (a passive declare), so its
broker user needs no configure permission on it, and until the relay has declared it the
consumer waits, retrying like for any broker that is not ready.
"""

from __future__ import annotations

from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from pamqp.common import FieldTable


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    """The names and limits of one consumer's queues."""

    exchange: str
    queue: str
    patterns: tuple[str, ...]
    max_deliveries: int

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ValueError("a consumer needs at least one routing-key pattern")
        if self.max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.queue}.dlx"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"

    @property
    def queue_arguments(self) -> FieldTable:
        return {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dead_letter_exchange,
            # The consumer dead-letters on its own at the Nth delivery, with the error; the
            # broker's limit is the backstop for a message the consumer never gets to judge.
            "x-delivery-limit": self.max_deliveries,
        }


@dataclass(frozen=True, slots=True)
class Declared:
    queue: AbstractQueue
    dead_letters: AbstractExchange


async def declare(channel: AbstractChannel, topology: Topology) -> Declared:
    """Declares (or finds, unchanged) the exchanges, queues and bindings of `topology`."""
    events = await channel.get_exchange(topology.exchange, ensure=True)
    dead_letters = await channel.declare_exchange(
        topology.dead_letter_exchange, ExchangeType.FANOUT, durable=True
    )
    dlq = await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(dead_letters, routing_key="")
    queue = await channel.declare_queue(
        topology.queue, durable=True, arguments=topology.queue_arguments
    )
    for pattern in topology.patterns:
        await queue.bind(events, routing_key=pattern)
    return Declared(queue=queue, dead_letters=dead_letters)
