"""Two relays on one outbox: they share the partitions, never publish an event twice, keep order."""

from __future__ import annotations

import random
from collections.abc import Callable

from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from tests.relay.support import (
    Consumer,
    InProcessRelay,
    assert_each_once_in_order,
    metric,
    record_many,
    running_relay,
)
from tests.support.processes import eventually

AGGREGATES = [f"o-{n}" for n in range(80)]


def leases(relay: InProcessRelay) -> float:
    return metric(relay, "boundbox_relay_leases_held")


async def produce(rounds: int, recorded: list[str]) -> None:
    """Commands keep coming: each transaction appends to a few random aggregates."""
    rng = random.Random(5)
    for _ in range(rounds):
        batch = rng.sample(AGGREGATES, 10) + rng.sample(AGGREGATES, 5)  # some twice: n, n+1
        recorded += [str(event.id) for event in await record_many("order", batch)]


async def test_two_relays_share_the_work_without_duplicates_and_in_order(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    database: AsyncDatabase[dict[str, object]],
) -> None:
    recorded: list[str] = []
    async with running_relay(settings_for("a")) as a, running_relay(settings_for("b")) as b:

        async def shared() -> bool:
            return leases(a) > 0 and leases(b) > 0 and leases(a) + leases(b) == 64

        await produce(20, recorded)
        await eventually(shared, within=20)
        await produce(40, recorded)
        await consumer.wait_for(len(recorded), within=30)
        assert metric(a, "boundbox_relay_published_total") > 0
        assert metric(b, "boundbox_relay_published_total") > 0

        # One relay leaves (gracefully): the other takes its partitions over, still in order.
        a.stop.set()
        await a.task
        await produce(20, recorded)

        async def alone() -> bool:
            return leases(b) == 64

        await eventually(alone, within=20)
        await consumer.wait_for(len(recorded), within=30)

    assert_each_once_in_order(consumer, recorded)
    assert await database["outbox"].count_documents({"status": "pending"}) == 0
