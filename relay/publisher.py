"""Publishes a batch: chains side by side (pipelined confirms), each chain's events in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from relay.broker import Broker
from relay.errors import BrokerUnavailableError, PublishRefusedError
from relay.plan import Chain, Item
from relay.store import Published
from relay.tracing import publishing


@dataclass(slots=True)
class Outcome:
    published: list[Published] = field(default_factory=list)
    """Per chain, the versions the broker confirmed (a prefix of the chain)."""
    refused: list[tuple[Item, str]] = field(default_factory=list)
    """Events that failed on their own account: unpublishable, returned or nacked."""
    interrupted: bool = False
    """The broker failed mid-batch: the unconfirmed events stay pending, nobody's fault."""

    @property
    def confirmed(self) -> int:
        return sum(item.last - item.first + 1 for item in self.published)


async def publish_batch(
    broker: Broker, chains: Sequence[Chain], orphans: Sequence[Item], *, within: float
) -> Outcome:
    """Publishes every chain; a chain stops at its first failure, so order always holds."""
    outcome = Outcome(refused=[(item, item.error or "unpublishable") for item in orphans])
    confirmed: dict[int, int] = {}  # chain index -> versions confirmed

    async def run(index: int, chain: Chain) -> None:
        for item in chain.items:
            if item.outgoing is None:
                outcome.refused.append((item, item.error or "unpublishable"))
                return
            try:
                with publishing(item.outgoing, exchange=broker.exchange_name) as outgoing:
                    await broker.publish(outgoing)
            except PublishRefusedError as e:
                outcome.refused.append((item, str(e)))
                return
            except BrokerUnavailableError:
                outcome.interrupted = True
                return
            confirmed[index] = confirmed.get(index, 0) + 1

    try:
        async with asyncio.timeout(within):
            await asyncio.gather(*(run(index, chain) for index, chain in enumerate(chains)))
    except TimeoutError:
        outcome.interrupted = True
        broker.lost(TimeoutError(f"no confirms within {within:g}s"))
    for index, count in confirmed.items():
        chain = chains[index]
        first = chain.items[0].ref.version
        assert first is not None  # chains hold versioned events only
        ids = tuple(item.ref.document_id for item in chain.items[:count])
        outcome.published.append(Published(chain.key, first, first + count - 1, ids))
    return outcome
