"""The dev database itself: isolation across processes, persistence, lifetimes, failpoints.

These tests start their own `boundbox devdb` processes: they are about the dev database, so
they never run against a server named by MONGODB_URL.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from tests.support.processes import DevDbProcess, eventually

pytestmark = pytest.mark.devdb_only
CLIENT_B = Path(__file__).with_name("client_b.py")
Client = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
def devdb() -> Iterator[DevDbProcess]:
    server = DevDbProcess().start()
    yield server
    server.kill()


@pytest.fixture
async def client(devdb: DevDbProcess) -> AsyncIterator[Client]:
    async with AsyncMongoClient(devdb.url) as c:
        yield c


async def open_transactions(client: Client) -> int:
    status = await client.admin.command("devdbStatus")
    return int(status["open"])


async def read_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line, "client B ended without reporting"
    return dict(json.loads(line))


async def test_open_transaction_is_isolated_from_a_client_in_another_process(
    devdb: DevDbProcess, client: Client
) -> None:
    items = client.iso["items"]
    await items.insert_one({"writer": "setup"})
    async with client.start_session() as session:
        await session.start_transaction()
        await items.insert_many([{"writer": "A"}, {"writer": "A"}], session=session)

        b = await asyncio.create_subprocess_exec(
            sys.executable, str(CLIENT_B), devdb.url, "iso", stdout=subprocess.PIPE
        )
        assert await read_line(b) == {"connected": True}
        # B reads the last committed state at once, without A's writes, and writes its own.
        assert await read_line(b) == {"read_a": 0}
        assert await read_line(b) == {"wrote": True}
        assert await b.wait() == 0
        assert await items.count_documents({"writer": "B"}, session=session) == 0  # A's snapshot

        await session.abort_transaction()

    assert await items.count_documents({"writer": "A"}) == 0
    assert await items.count_documents({"writer": "B"}) == 1
    assert await items.count_documents({}) == 2


async def test_a_commit_becomes_visible_to_others_at_once(client: Client) -> None:
    items = client.commit["items"]
    async with client.start_session() as session:
        async with await session.start_transaction():
            await items.insert_one({"n": 1}, session=session)
    assert await items.count_documents({"n": 1}) == 1


async def test_transaction_of_a_killed_client_is_aborted_and_frees_the_others(
    devdb: DevDbProcess, client: Client
) -> None:
    script = (
        "import sys, time\n"
        "from pymongo import MongoClient\n"
        "c = MongoClient(sys.argv[1])\n"
        "s = c.start_session(); s.start_transaction()\n"
        "c.vanish.items.insert_one({'writer': 'ghost'}, session=s)\n"
        "print('open', flush=True); time.sleep(600)\n"
    )
    ghost = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, devdb.url, stdout=subprocess.PIPE
    )
    assert ghost.stdout is not None
    assert await asyncio.wait_for(ghost.stdout.readline(), timeout=30) == b"open\n"
    ghost.kill()
    await ghost.wait()
    # Far sooner than the 60 s lifetime: the ghost's connections closed, so its writes go.
    await asyncio.wait_for(client.vanish["items"].insert_one({"writer": "B"}), timeout=10)
    assert await client.vanish["items"].count_documents({"writer": "ghost"}) == 0


async def test_transaction_open_past_its_lifetime_is_aborted() -> None:
    server = DevDbProcess(args=("--transaction-lifetime", "0.5")).start()
    try:
        async with AsyncMongoClient(server.url) as client:
            items = client.lifetime["items"]
            async with client.start_session() as session:
                await session.start_transaction()
                await items.insert_one({"writer": "slow"}, session=session)
                await asyncio.wait_for(items.insert_one({"writer": "B"}), timeout=10)
                await eventually(lambda: _none_open(client))
                with pytest.raises(OperationFailure) as failure:
                    await session.commit_transaction()
            assert failure.value.code == 251
            assert failure.value.has_error_label("TransientTransactionError")
            assert await items.count_documents({"writer": "slow"}) == 0
    finally:
        server.kill()


async def _none_open(client: Client) -> bool:
    return await open_transactions(client) == 0


async def test_committed_data_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = DevDbProcess(data_dir=data).start()
    try:
        async with AsyncMongoClient(first.url) as client:
            async with client.start_session() as session:
                async with await session.start_transaction():
                    await client.keep["items"].insert_one({"kept": True}, session=session)
            await client.keep["items"].create_index("kept")
    finally:
        assert first.stop() == 0

    second = DevDbProcess(port=first.port, data_dir=data).start()
    try:
        async with AsyncMongoClient(second.url) as client:
            assert await client.keep["items"].count_documents({"kept": True}) == 1
            indexes = await client.keep["items"].index_information()
            assert [("kept", 1)] in [index["key"] for index in indexes.values()]
    finally:
        second.kill()


async def test_committed_data_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = DevDbProcess(data_dir=data).start()
    async with AsyncMongoClient(first.url) as client:
        await client.keep["items"].insert_many([{"n": n} for n in range(100)])
    first.kill()

    second = DevDbProcess(data_dir=data).start()
    try:
        async with AsyncMongoClient(second.url) as client:
            assert await client.keep["items"].count_documents({}) == 100
    finally:
        second.kill()


def test_refuses_a_port_that_is_taken(devdb: DevDbProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "devdb", "--memory", "--port", str(devdb.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"boundbox devdb: port {devdb.port} on 127.0.0.1 is already in use: "
        "stop what listens there or choose another port with --port"
    )


async def test_fail_command_failpoint(client: Client) -> None:
    await client.admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {
                "failCommands": ["insert"],
                "errorCode": 112,
                "errorLabels": ["TransientTransactionError"],
            },
        }
    )
    with pytest.raises(OperationFailure) as failure:
        await client.fp["items"].insert_one({"n": 1})
    assert failure.value.code == 112
    assert failure.value.has_error_label("TransientTransactionError")
    await client.fp["items"].insert_one({"n": 2})  # only once
    assert await client.fp["items"].count_documents({}) == 1


async def expired_and_fresh(client: Client) -> Any:
    collection = client.ttl["docs"]
    await collection.create_index("at", expireAfterSeconds=1)
    now = datetime.now(UTC)
    await collection.insert_many([{"at": now - timedelta(hours=1)}, {"at": now}])
    return collection


async def test_ttl_deletion_waits_for_the_monitor_interval(client: Client) -> None:
    collection = await expired_and_fresh(client)
    # Within the 60 s interval, like mongod's TTL monitor: nothing is deleted on a read.
    assert await collection.count_documents({}) == 2


async def test_ttl_deletion_happens_every_interval() -> None:
    server = DevDbProcess(args=("--ttl-interval", "0.2")).start()
    try:
        async with AsyncMongoClient(server.url, tz_aware=True) as client:
            collection = await expired_and_fresh(client)

            async def only_the_fresh_one_left() -> bool:
                return await collection.count_documents({}) == 1

            await eventually(only_the_fresh_one_left)
    finally:
        server.kill()
