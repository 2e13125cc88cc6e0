"""Cut the relay's and the consumer's broker connections for 10 s during load, then restore."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chaos.conftest import StartStack
from tests.chaos.load import Load
from tests.chaos.scenario import Timeline, finish, under_load
from tests.consumer.conftest import AMQP_URL
from tests.support.processes import eventually
from tests.support.tcp_proxy import TcpProxy

SEED = 3
CUT_AT = 2.0  # seconds into the load
CUT_FOR = 10.0
LOAD_SECONDS = 15.0


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    """Between the components and RabbitMQ; torn down after the stack (requested first)."""
    proxy = await TcpProxy.in_front_of(AMQP_URL, default_port=5672)
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_a_broker_outage_of_ten_seconds_delays_events_and_loses_none(
    proxy: TcpProxy, start_stack: StartStack, mongodb_url: str
) -> None:
    amqp_url = proxy.routed(AMQP_URL)
    stack = await start_stack(mongodb_url=mongodb_url, amqp_url=amqp_url)
    backlog = 0

    async def chaos(load: Load) -> None:
        nonlocal backlog
        timeline = Timeline()
        await timeline.at(CUT_AT)
        await proxy.cut()

        async def noticed() -> bool:  # both say so on their health endpoints
            relay, consumer = await stack.health(stack.relay), await stack.health(stack.consumer)
            return relay.get("broker") == "down" and consumer.get("broker") is False

        await eventually(noticed, within=CUT_FOR - 1)
        await timeline.at(CUT_AT + CUT_FOR)
        backlog = await stack.shop["outbox"].count_documents({"status": "pending"})
        await proxy.restore()

    ledger = await under_load(stack, seed=SEED, chaos=chaos, seconds=LOAD_SECONDS)
    assert backlog > 0, "the outbox did not fill up while the broker was cut off"
    assert proxy.refused > 0, "nobody tried to reconnect during the cut"
    await finish(stack, ledger)
    print(f"pending at the end of the cut: {backlog}, reconnections refused: {proxy.refused}")
