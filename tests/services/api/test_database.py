"""MongoDB unreachable: the API stays up, says so, and answers 503 with Retry-After."""

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest

import outbox
from tests.services import factories
from tests.services.apps import api_settings, running_api
from tests.support.processes import DevDbProcess, free_port

FAST = {"server_selection_timeout_ms": 100}


@pytest.fixture(autouse=True)
async def collect_abandoned_sockets() -> AsyncIterator[None]:
    """Collects here, on this test's loop, the sockets pymongo abandons to a dead server.

    pymongo 4.20's async connect closes its socket on a refusal or a timeout, not when the
    connect is cancelled by the client closing: with the server killed under it, such a socket
    was left to the garbage collector and warned in whichever later test collected it.
    """
    yield
    await asyncio.sleep(0.2)  # pymongo's cancelled tasks finish
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "unclosed <socket.socket", ResourceWarning)
        gc.collect()


async def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"


async def test_an_api_started_without_mongodb_is_alive_but_answers_503() -> None:
    closed_port = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    async with running_api(api_settings(closed_port, "bbtest_down"), **FAST) as client:
        assert (await client.get("/healthz")).status_code == 200
        await assert_unavailable(await client.get("/readyz"))
        await assert_unavailable(await client.post("/categories", json=factories.category_body()))
        await assert_unavailable(await client.get("/products/6650f1c2a4b5c6d7e8f90123"))
        await assert_unavailable(await client.get("/products"))
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert "boundbox_outbox_pending_events NaN" in metrics.text


@pytest.fixture
async def own_devdb() -> AsyncIterator[DevDbProcess]:
    """A dev database of this test's own, so the test can stop it."""
    devdb = await asyncio.to_thread(DevDbProcess().start)
    yield devdb
    await asyncio.to_thread(devdb.kill)


async def test_losing_mongodb_mid_flight_is_503_not_500(own_devdb: DevDbProcess) -> None:
    settings = api_settings(own_devdb.url, "bbtest_lost", transaction_budget_seconds=0.5)
    before = outbox.default_policy()
    async with running_api(settings, **FAST) as client:
        category = await factories.category(client)
        await asyncio.to_thread(own_devdb.stop)

        await assert_unavailable(await client.post("/categories", json=factories.category_body()))
        await assert_unavailable(await client.get(f"/categories/{category['id']}"))
        await assert_unavailable(await client.get("/readyz"))
        assert outbox.default_policy().budget_seconds == 0.5

    # The process's other transactions get back the budget they had, not this app's.
    assert outbox.default_policy() == before
