"""The dev database shows drivers a one-member replica set, as compose's MongoDB does."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.support.processes import DevDbProcess


async def test_hello_reports_a_writable_primary_of_a_replica_set(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    hello = await mongo_client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["setName"]
    assert hello["primary"] in hello["hosts"]


@pytest.mark.devdb_only
async def test_a_driver_without_direct_connection_discovers_the_set() -> None:
    server = DevDbProcess().start()
    try:
        url = f"mongodb://127.0.0.1:{server.port}/?replicaSet=devdb&serverSelectionTimeoutMS=5000"
        async with AsyncMongoClient(url) as client:
            await client.test["items"].insert_one({"n": 1})
            description = client.topology_description
            assert description.topology_type_name == "ReplicaSetWithPrimary"
            assert await client.test["items"].count_documents({}) == 1
    finally:
        server.kill()


async def test_an_awaitable_hello_waits_for_a_topology_change_as_on_mongod(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    # Drivers' streaming monitors send this: answered at once, every client's monitor spun.
    # (The dev database waits at most 0.25 s, mongod the whole maxAwaitTimeMS.)
    known = (await mongo_client.admin.command("hello"))["topologyVersion"]
    started = time.monotonic()
    await mongo_client.admin.command({"hello": 1, "topologyVersion": known, "maxAwaitTimeMS": 200})
    assert time.monotonic() - started >= 0.15
    older = {"processId": known["processId"], "counter": known["counter"] - 1}
    started = time.monotonic()
    await mongo_client.admin.command({"hello": 1, "topologyVersion": older, "maxAwaitTimeMS": 5000})
    assert time.monotonic() - started < 2.5  # news of a newer topology: at once
