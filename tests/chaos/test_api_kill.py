"""SIGKILL the API with requests in flight: their transactions leave nothing or everything."""

from __future__ import annotations

from tests.chaos.conftest import StartStack
from tests.chaos.load import Load
from tests.chaos.scenario import Timeline, finish, under_load
from tests.support.processes import eventually

SEED = 5
KILLS_AT = (3.0, 8.0)  # seconds into the load (scenario.LOAD_SECONDS: 12)


async def test_the_api_sigkilled_mid_request_leaves_no_partial_order(
    start_stack: StartStack, mongodb_url: str
) -> None:
    """Requests cut by the kill are retried with their key: at most one order each, whole.

    The reconciliation holds the orders collection to exactly the orders answered 201, every
    one complete with its event: a killed transaction that had committed is replayed to its
    retry, one that had not left no trace.
    """
    stack = await start_stack(mongodb_url=mongodb_url)

    async def chaos(load: Load) -> None:
        timeline = Timeline()
        for seconds in KILLS_AT:
            await timeline.at(seconds)

            async def busy() -> bool:
                return load.in_flight >= 2

            await eventually(busy, within=10, interval=0.001)
            await stack.restart(stack.api)

    ledger = await under_load(stack, seed=SEED, chaos=chaos)
    cut = [a for a in ledger.answers if a.status is None]
    assert cut, "no request failed on the kills"
    await finish(stack, ledger)
    assert stack.api.kills == len(KILLS_AT)
    print(f"requests cut: {len(cut)} ({sorted({a.detail for a in cut})}), replays {ledger.replays}")
