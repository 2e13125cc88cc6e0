"""Fixtures shared by every test: the MongoDB under test and a fresh database per test.

Without MONGODB_URL the suite starts its own in-memory `boundbox devdb`; with MONGODB_URL
(a real replica set) every MongoDB test runs unchanged against that server instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.support import leaks
from tests.support.plugins import enable_consistent_hash, ensure_consistent_hash
from tests.support.processes import mongodb_under_test

leaks.install()  # an unclosed transport's warning names the test and the code that made it


@pytest.fixture(scope="session", autouse=True)
def _broker_plugins() -> None:
    """The consistent-hash exchange (ordered consumers), enabled once per run where possible."""
    enable_consistent_hash()


@pytest.fixture(scope="session")
def consistent_hash() -> None:
    """The broker has the consistent-hash exchange type: a test that needs it asks for this."""
    ensure_consistent_hash()


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    with mongodb_under_test() as url:
        yield url


@pytest.fixture
async def mongo_client(mongodb_url: str) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_url, uuidRepresentation="standard", tz_aware=True
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def database(
    mongo_client: AsyncMongoClient[dict[str, object]],
) -> AsyncIterator[AsyncDatabase[dict[str, object]]]:
    """A database of this test's own, dropped afterwards."""
    name = f"bbtest_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        await mongo_client.drop_database(name)
