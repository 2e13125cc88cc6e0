"""Stop the dev database during load and start it again on its data: 503s, then recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import StartStack
from tests.chaos.load import Load
from tests.chaos.scenario import Timeline, finish, under_load
from tests.support.processes import DevDbProcess, eventually

# The scenario restarts its own dev database: a replica set named by MONGODB_URL is not ours
# to stop.
pytestmark = pytest.mark.devdb_only

SEED = 4
STOP_AT = 3.0  # seconds into the load
# A command caught mid-transaction fails after ~5 s with a transient error and is retried, then
# answers 503 when server selection times out 5 s later: the outage outlasts both.
DOWN_FOR = 12.0
LOAD_SECONDS = 20.0
WORKERS = 8


@pytest.fixture
def devdb(tmp_path: Path) -> Iterator[DevDbProcess]:
    """A dev database keeping its data in tmp_path, so that a restart finds them again."""
    devdb = DevDbProcess(data_dir=tmp_path / "devdb").start()
    try:
        yield devdb
    finally:
        devdb.kill()


async def test_a_database_restart_answers_503_then_recovers_without_partial_orders(
    devdb: DevDbProcess, start_stack: StartStack
) -> None:
    stack = await start_stack(mongodb_url=devdb.url)
    back_at = 0.0

    async def chaos(load: Load) -> None:
        nonlocal back_at
        timeline = Timeline()
        await timeline.at(STOP_AT)
        assert await asyncio.to_thread(devdb.stop) == 0  # same port, same data directory next

        async def noticed() -> bool:  # the API after its server selection timeout (5 s)
            answer = await stack.probes.get(f"{stack.api_url}/readyz", timeout=DOWN_FOR)
            relay = await stack.health(stack.relay)
            return answer.status_code == 503 and relay.get("database") == "down"

        await eventually(noticed, within=DOWN_FOR)
        await timeline.at(STOP_AT + DOWN_FOR)
        await asyncio.to_thread(devdb.start)
        back_at = time.monotonic() - load.ledger.started
        await stack.ready(stack.api)  # /readyz: MongoDB answers again

    ledger = await under_load(stack, seed=SEED, chaos=chaos, seconds=LOAD_SECONDS, workers=WORKERS)
    unavailable = ledger.count(503)
    assert unavailable > 0, "no request met the outage"
    assert ledger.count(500) == 0
    recovered = [a for a in ledger.answers if a.at > back_at and a.status in (200, 201)]
    assert recovered, "no command succeeded after the restart"
    await finish(stack, ledger)
    print(f"503 answers: {unavailable}, successes after the restart: {len(recovered)}")
