"""Outages, through a TCP proxy in front of the shared servers (which are never stopped)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from tests.relay.support import (
    AMQP_URL,
    Consumer,
    InProcessRelay,
    metric,
    record_many,
    running_relay,
)
from tests.support.processes import eventually
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
async def broker_proxy() -> AsyncIterator[TcpProxy]:
    proxy = await TcpProxy.in_front_of(AMQP_URL, default_port=5672)
    try:
        yield proxy
    finally:
        await proxy.close()


async def healthz(relay: InProcessRelay) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{relay.settings.relay_port}/healthz")


def up(relay: InProcessRelay, dependency: str) -> float:
    return metric(relay, "boundbox_relay_dependency_up", {"dependency": dependency})


async def test_a_broker_outage_loses_nothing_and_the_relay_resumes_by_itself(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    broker_proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="boundbox.relay")
    settings = settings_for(amqp_url=broker_proxy.routed(AMQP_URL))
    before = await record_many("order", ["o-1", "o-2"])

    async with running_relay(settings) as relay:
        await consumer.wait_for(2)
        await broker_proxy.cut()

        async def broker_down() -> bool:
            return up(relay, "broker") == 0

        await eventually(broker_down)
        during = await record_many("order", ["o-1", "o-3", "o-3"])
        response = await healthz(relay)
        assert response.status_code == 503
        assert response.json()["broker"] == "down"

        async def kept_trying() -> bool:  # reconnection attempts, with backoff: a few seconds
            return broker_proxy.refused >= 5

        await eventually(kept_trying, within=30)
        assert consumer.ids() == [str(event.id) for event in before]
        await broker_proxy.restore()

        await consumer.wait_for(5)
        assert (await healthz(relay)).status_code == 200

    assert sorted(consumer.ids()) == sorted(str(event.id) for event in before + during)
    assert [m.version for m in consumer.received if m.aggregate_id == "o-3"] == [1, 2]
    downs = [r for r in caplog.records if r.getMessage().startswith("broker down")]
    assert len(downs) == 1, "an outage is logged once, not once per attempt"
    ups = [r for r in caplog.records if r.getMessage().startswith("broker up")]
    assert len(ups) == 2  # at start, and back after the outage


async def test_a_database_outage_loses_nothing_and_the_relay_resumes_by_itself(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    mongodb_url: str,
    database: AsyncDatabase[dict[str, object]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = urlsplit(mongodb_url)
    if "," in server.netloc:
        pytest.skip("the proxy stands in front of one server; MONGODB_URL names several")
    caplog.set_level(logging.INFO, logger="boundbox.relay")
    proxy = await TcpProxy.in_front_of(mongodb_url, default_port=27017)
    try:
        proxied = proxy.routed(mongodb_url)
        settings = settings_for(mongodb_url=proxied, relay_db_timeout=1.0)
        before = await record_many("order", ["o-1"])
        async with running_relay(settings) as relay:
            await consumer.wait_for(1)
            await proxy.cut()

            async def database_down() -> bool:
                return up(relay, "database") == 0

            await eventually(database_down, within=30)
            during = await record_many("order", ["o-1", "o-2"])  # the services still can
            assert (await healthz(relay)).json()["database"] == "down"

            async def leases_ran_out() -> bool:  # a long outage: nothing renewed in time
                return metric(relay, "boundbox_relay_leases_held") == 0

            await eventually(leases_ran_out, within=30)
            await proxy.restore()
            await consumer.wait_for(3, within=30)
    finally:
        await proxy.close()
    assert sorted(consumer.ids()) == sorted(str(event.id) for event in before + during)
    assert [m.version for m in consumer.received if m.aggregate_id == "o-1"] == [1, 2]
    downs = [r for r in caplog.records if r.getMessage().startswith("database down")]
    assert len(downs) == 1
    assert await database["outbox"].count_documents({"status": "pending"}) == 0
