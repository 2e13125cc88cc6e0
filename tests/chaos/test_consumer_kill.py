"""SIGKILL the sales consumer during load: redeliveries are applied once, the projection holds."""

from __future__ import annotations

import asyncio

from outbox.consumer.service import KILL_AFTER_COMMIT
from tests.chaos.conftest import StartStack
from tests.chaos.load import Load
from tests.chaos.scenario import Timeline, finish, under_load
from tests.support.processes import eventually

SEED = 2
KILLS_AT = (3.0, 9.0)  # seconds into the load (scenario.LOAD_SECONDS: 12)
DOWN = 1.0  # seconds without a consumer: the backlog grows in its queue meanwhile


async def test_the_consumer_sigkilled_during_load_applies_every_event_once(
    start_stack: StartStack, mongodb_url: str
) -> None:
    """Two SIGKILLs at fixed points of the load and, after the first, an incarnation that
    SIGKILLs itself between committing a message and acknowledging it: its successor gets
    that message again and must recognise it from the inbox instead of applying it twice.
    """
    stack = await start_stack(mongodb_url=mongodb_url)
    consumer = stack.consumer

    async def chaos(load: Load) -> None:
        timeline = Timeline()
        await timeline.at(KILLS_AT[0])
        consumer.kill()  # its unacknowledged messages go back to the queue
        await asyncio.sleep(DOWN)
        consumer.spawn(**{KILL_AFTER_COMMIT: "*"})

        async def died() -> bool:
            return consumer.process is not None and consumer.process.poll() == -9

        await eventually(died, within=30)
        await stack.restart(consumer)

        async def recognised() -> bool:
            return await stack.metric(consumer, "boundbox_consumer_duplicates_total") >= 1

        await eventually(recognised, within=30)
        await timeline.at(KILLS_AT[1])
        consumer.kill()
        await asyncio.sleep(DOWN)
        await stack.restart(consumer)

    ledger = await under_load(stack, seed=SEED, chaos=chaos)
    await finish(stack, ledger)
    assert (consumer.kills, consumer.starts) == (2, 4)
