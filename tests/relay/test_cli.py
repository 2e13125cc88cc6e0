"""`boundbox relay`, `outbox status`, `outbox retry-failed`: one clear line when they cannot run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from pymongo.asynchronous.database import AsyncDatabase

from tests.relay.support import ROOT
from tests.support.processes import free_port


def boundbox(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boundbox", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_configuration_is_one_line() -> None:
    result = boundbox("outbox", "status", MONGODB_URL="http://localhost")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "boundbox: configuration error: MONGODB_URL: must start with mongodb:// or mongodb+srv://"
    )


def test_a_bad_retention_is_one_line() -> None:
    for value in ("30", "-1", "a week"):
        result = boundbox("outbox", "status", RELAY_RETENTION_SECONDS=value)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("boundbox: configuration error: RELAY_RETENTION_SECONDS: ")


def test_an_unreachable_database_is_one_line() -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    for command in ("status", "retry-failed"):
        result = boundbox("outbox", command, MONGODB_URL=url, RELAY_DB_TIMEOUT="0.5")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("boundbox: cannot ")
        assert "Traceback" not in result.stderr and "127.0.0.1" in lines[0]


def test_status_and_retry_failed_on_an_empty_outbox(
    mongodb_url: str, database: AsyncDatabase[dict[str, object]]
) -> None:
    env = {"MONGODB_URL": mongodb_url, "MONGODB_DB": database.name}
    status = boundbox("outbox", "status", **env)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines() == [
        "pending  0",
        "failed   0",
        "lag      0.000s (age of the oldest pending event)",
    ]
    retried = boundbox("outbox", "retry-failed", **env)
    assert (retried.returncode, retried.stdout.strip()) == (0, "re-queued 0 failed events")


def test_the_relay_refuses_to_start_on_a_taken_port(mongodb_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = boundbox("relay", MONGODB_URL=mongodb_url, RELAY_PORT=str(port))
    assert result.returncode == 2
    assert result.stderr == f"boundbox: port {port} is in use: set RELAY_PORT to a free port\n"
