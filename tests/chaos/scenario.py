"""What every chaos scenario does around its faults: load, then reconcile, then a clean stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from tests.chaos.balancer import RoundRobin
from tests.chaos.load import Ledger, Load
from tests.chaos.reconcile import Report, reconcile
from tests.chaos.stack import ChaosStack
from tests.consumer.conftest import AMQP_URL
from tests.support.audit import assert_state_is_events
from tests.support.auth import admin_headers

LOAD_SECONDS = 12.0
RATE = 40.0  # operations started per second, spread over the workers
WORKERS = 4  # operations in flight at most
HTTP_TIMEOUT = 15.0  # above the API's 5 s server selection: a 503 arrives before it


class Timeline:
    """Seconds since the chaos began: faults happen at fixed points of the load, not after
    however long the previous one took to recover from."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    async def at(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.started + seconds - time.monotonic()))


async def under_load(
    stack: ChaosStack,
    *,
    seed: int,
    chaos: Callable[[Load], Coroutine[Any, Any, None]],
    seconds: float = LOAD_SECONDS,
    rate: float = RATE,
    workers: int = WORKERS,
) -> Ledger:
    """Creates the catalog, then runs the seeded load and `chaos(load)` side by side."""
    async with httpx.AsyncClient(
        base_url=stack.api_url,
        timeout=HTTP_TIMEOUT,
        headers=admin_headers(),
        transport=RoundRobin([api.url for api in stack.apis]),
    ) as http:
        load = Load(http, seed=seed, run_id=stack.run_id)
        await load.setup()
        async with asyncio.TaskGroup() as group:
            group.create_task(load.run(seconds=seconds, rate=rate, workers=workers))
            group.create_task(chaos(load))
    return load.ledger


async def finish(stack: ChaosStack, ledger: Ledger) -> Report:
    """Reconciles, then stops every component cleanly: each must exit 0 after the chaos."""
    try:
        report = await reconcile(stack, ledger)
    except AssertionError as e:
        raise AssertionError(f"{e}\n(component logs: {stack.log_dir})") from None
    # The last word: every document is the fold of its events, the projection adds up, and
    # every published event is in the archive stream.
    audit_env = stack.env | {"AMQP_URL": AMQP_URL}  # past any proxy the scenario cut
    print(f"chaos {stack.run_id}: {report}; {await assert_state_is_events(audit_env)}")
    codes = stack.stop()
    assert codes == dict.fromkeys((c.name for c in stack.components), 0), (
        codes,
        *(c.output() for c in stack.components),
    )
    return report
