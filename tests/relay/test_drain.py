"""A backlog drained in many small halves: every event exactly once, each aggregate in order.

The relay marks one half while it reads the next: the read must leave out the aggregates whose
events are published but not yet marked, or they would be published twice.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from tests.relay.support import (
    Consumer,
    assert_each_once_in_order,
    metric,
    record_many,
    running_relay,
)
from tests.support.processes import eventually


async def test_a_backlog_in_small_halves_is_published_exactly_once_and_in_order(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    database: AsyncDatabase[dict[str, object]],
) -> None:
    rng = random.Random(11)
    aggregates = [f"o-{n}" for n in range(12)]
    recorded: list[str] = []
    for _ in range(40):  # each transaction: a few aggregates, some of them twice (n, n+1)
        batch = rng.sample(aggregates, 4) + rng.sample(aggregates, 2)
        recorded += [str(event.id) for event in await record_many("order", batch)]

    async with running_relay(settings_for(relay_batch_size=6)) as relay:  # halves of 3
        await consumer.wait_for(len(recorded), within=60)

        async def all_marked() -> bool:
            return await database["outbox"].count_documents({"status": "pending"}) == 0

        await eventually(all_marked)
        assert metric(relay, "boundbox_relay_published_total") == len(recorded)

    assert_each_once_in_order(consumer, recorded)
