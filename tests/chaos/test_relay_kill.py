"""SIGKILL the relay every few seconds during load, some kills mid-drain: nothing is lost."""

from __future__ import annotations

from tests.chaos.conftest import StartStack
from tests.chaos.load import Load
from tests.chaos.scenario import Timeline, finish, under_load
from tests.support.processes import eventually

SEED = 1
ROUNDS_AT = (2.0, 7.0)  # seconds into the load (scenario.LOAD_SECONDS: 12)


async def test_the_relay_sigkilled_every_few_seconds_loses_nothing(
    start_stack: StartStack, mongodb_url: str
) -> None:
    """Each round kills the relay at a fixed point of the load, then kills its successor
    while it drains the backlog the first left (published, perhaps not yet marked), then
    starts a third: duplicates are allowed on the broker, never a loss nor a double effect.
    """
    stack = await start_stack(mongodb_url=mongodb_url)
    subscriber = stack.subscriber

    async def chaos(load: Load) -> None:
        timeline = Timeline()
        for seconds in ROUNDS_AT:
            await timeline.at(seconds)
            stack.relay.kill()  # its leases stay held until they expire: a backlog builds
            stack.relay.spawn()
            await stack.ready(stack.relay)  # connected; publishing once leases expire
            seen = sum(subscriber.deliveries.values())

            async def draining(seen: int = seen) -> bool:
                return sum(subscriber.deliveries.values()) > seen

            await eventually(draining, within=30, interval=0.001)
            await stack.restart(stack.relay)

    ledger = await under_load(stack, seed=SEED, chaos=chaos)
    report = await finish(stack, ledger)
    assert stack.relay.kills == 2 * len(ROUNDS_AT)
    print(f"relay kills: {stack.relay.kills}, duplicates on the broker: {report.duplicates}")
