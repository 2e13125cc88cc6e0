"""A consumer's queues, declared idempotently on every start and after every reconnection.

- `<queue>`: a durable quorum queue bound to the events exchange by routing-key patterns;
  `x-delivery-limit` dead-letters a message the broker has delivered too often (a consumer
  that crashes on it every time), `x-dead-letter-exchange` says where to.
- `<queue>.dlx`, a durable fanout exchange, into `<queue>.dlq`, a durable quorum queue: the
  messages that could not be handled, with the reason in their headers.

Ordered mode (`partitions` N > 0) replaces `<queue>` with N queues `<queue>.0` .. `<queue>.N-1`
(same arguments, plus `x-single-active-consumer`), each bound with weight "1" to `<queue>.hash`,
a consistent-hash exchange (plugin `rabbitmq_consistent_hash_exchange`) on the `aggregate_id`
header, itself bound to the events exchange by `<aggregate_type>.#` for each aggregate type the
handled types belong to: an aggregate's events all reach one queue, every one of them.

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
from aiormq.exceptions import ConnectionCommandInvalid
from pamqp.common import FieldTable

from outbox.consumer.errors import ConsumerError

HASH_EXCHANGE_TYPE = "x-consistent-hash"
HASH_PLUGIN = "rabbitmq_consistent_hash_exchange"
MAX_PARTITIONS = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    """The names and limits of one consumer's queues."""

    exchange: str
    queue: str
    patterns: tuple[str, ...]
    max_deliveries: int
    partitions: int = 0
    """0: one queue shared by every instance; N: ordered mode, over N queues."""

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ValueError("a consumer needs at least one routing-key pattern")
        if self.max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        if not 0 <= self.partitions <= MAX_PARTITIONS:
            raise ValueError(f"partitions must be 0-{MAX_PARTITIONS}, not {self.partitions}")

    @property
    def ordered(self) -> bool:
        return self.partitions > 0

    @property
    def hash_exchange(self) -> str:
        return f"{self.queue}.hash"

    @property
    def partition_queues(self) -> tuple[str, ...]:
        return tuple(f"{self.queue}.{index}" for index in range(self.partitions))

    @property
    def aggregate_patterns(self) -> tuple[str, ...]:
        """`<aggregate_type>.#` for each aggregate type of `patterns` (a wildcard one: `#`)."""
        types = {pattern.split(".")[0] for pattern in self.patterns}
        if types & {"*", "#"}:
            return ("#",)
        return tuple(sorted(f"{kind}.#" for kind in types))

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.queue}.dlx"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"

    @property
    def queue_arguments(self) -> FieldTable:
        arguments: FieldTable = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dead_letter_exchange,
            # The consumer dead-letters on its own at the Nth delivery, with the error; the
            # broker's limit is the backstop for a message the consumer never gets to judge.
            "x-delivery-limit": self.max_deliveries,
        }
        if self.ordered:  # one consumer at a time per queue: its messages stay in order
            arguments["x-single-active-consumer"] = True
        return arguments


@dataclass(frozen=True, slots=True)
class Declared:
    queues: tuple[AbstractQueue, ...]
    """`<queue>` alone, or in ordered mode the partitions in index order."""
    dead_letters: AbstractExchange

    @property
    def queue(self) -> AbstractQueue:
        """The first queue: the one shared queue outside ordered mode."""
        return self.queues[0]


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
    if topology.ordered:
        queues = await _declare_partitions(channel, events, topology)
        return Declared(queues=queues, dead_letters=dead_letters)
    queue = await channel.declare_queue(
        topology.queue, durable=True, arguments=topology.queue_arguments
    )
    for pattern in topology.patterns:
        await queue.bind(events, routing_key=pattern)
    return Declared(queues=(queue,), dead_letters=dead_letters)


async def _declare_partitions(
    channel: AbstractChannel, events: AbstractExchange, topology: Topology
) -> tuple[AbstractQueue, ...]:
    try:
        spread = await channel.declare_exchange(
            topology.hash_exchange,
            HASH_EXCHANGE_TYPE,
            durable=True,
            arguments={"hash-header": "aggregate_id"},
        )
    except ConnectionCommandInvalid as e:  # the broker closes the whole connection
        if "exchange type" not in str(e):
            raise
        raise ConsumerError(
            f"the broker has no {HASH_EXCHANGE_TYPE} exchange type, which ordered mode needs:"
            f" enable the plugin (rabbitmq-plugins enable {HASH_PLUGIN})"
        ) from e
    for pattern in topology.aggregate_patterns:
        await spread.bind(events, routing_key=pattern)
    queues = []
    for name in topology.partition_queues:
        queue = await channel.declare_queue(name, durable=True, arguments=topology.queue_arguments)
        await queue.bind(spread, routing_key="1")  # the weight: an equal share each
        queues.append(queue)
    return tuple(queues)
