"""The dev database shows drivers a one-member replica set, as compose's MongoDB does."""

from __future__ import annotations

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
