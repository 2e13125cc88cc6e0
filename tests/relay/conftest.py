"""Fixtures of the relay tests: a unique exchange and a consumer on it, and recording set up."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import outbox
from boundbox.settings import Settings
from tests.relay.support import AMQP_URL, Consumer, relay_settings


@pytest.fixture
def test_id(request: pytest.FixtureRequest) -> str:
    """This test's name, fit for exchange, relay and connection names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:60]


@pytest.fixture
async def exchange(test_id: str) -> AsyncIterator[str]:
    """The test's exchange name; the exchange (declared by the relay) is deleted after."""
    name = f"bbtest.{test_id}.{uuid.uuid4().hex[:8]}"
    yield name
    async with await aio_pika.connect(AMQP_URL) as connection:
        channel = await connection.channel()
        await channel.exchange_delete(name)


@pytest.fixture
async def consumer(exchange: str, test_id: str) -> AsyncIterator[Consumer]:
    """A consumer of every routing key on the test's exchange (deleted afterwards)."""
    consumer = await Consumer(exchange, name=f"{test_id} consumer").start()
    try:
        yield consumer
    finally:
        await consumer.close()


@pytest.fixture
async def recording(
    mongo_client: AsyncMongoClient[dict[str, object]],
    database: AsyncDatabase[dict[str, object]],
) -> AsyncIterator[None]:
    """`outbox.record()` works against the test's database, as in the services."""
    await init_beanie(database=database, document_models=outbox.DOCUMENT_MODELS)  # type: ignore[arg-type]
    outbox.use_client(mongo_client)  # type: ignore[arg-type]
    try:
        yield
    finally:
        outbox.use_client(None)


@pytest.fixture
def settings_for(
    mongodb_url: str, database: AsyncDatabase[dict[str, object]], exchange: str, test_id: str
) -> Callable[..., Settings]:
    """Relay settings on the test's database and exchange; `name` tells relays apart."""

    def make(name: str = "a", **overrides: Any) -> Settings:
        return relay_settings(
            **{
                "mongodb_url": mongodb_url,
                "database": database.name,
                "exchange": exchange,
                "relay_id": f"{test_id}-{name}",
                **overrides,
            }
        )

    return make
