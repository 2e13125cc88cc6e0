"""Bad input through a real `boundbox api` process (uvicorn), on a free port.

The server meets some input before the app does: a header far over h11's buffer is refused
by uvicorn itself, with its own plain-text 400 (no JSON: the app never sees the request).
What matters there is that the process survives it and goes on answering.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.badinput.problems import DB, nothing_written, problem
from tests.support.auth import AUTH_ENV, admin_headers
from tests.support.processes import eventually, free_port

JSON = {"content-type": "application/json"}
MEGABYTE = 1024 * 1024


def start_api(mongodb_url: str, db_name: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": db_name,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **AUTH_ENV,
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "boundbox", "api"],
            cwd=log.parent,  # no stray .env
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


Server = tuple[httpx.AsyncClient, subprocess.Popen[bytes]]


@pytest.fixture
async def server(mongodb_url: str, database: DB, tmp_path: Path) -> AsyncIterator[Server]:
    """The API in its own process on this test's database, and a client over TCP."""
    port = free_port()
    log = tmp_path / "api.log"
    process = start_api(mongodb_url, database.name, port, log)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, headers=admin_headers()
        ) as client:

            async def ready() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=30)
            yield client, process
    finally:
        stop(process)


async def still_serving(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    response = await client.post("/categories", json={"name": "Still here"})
    assert response.status_code == 201
    assert process.poll() is None


async def test_a_megabyte_idempotency_key_is_refused_and_the_server_survives(
    server: Server, database: DB
) -> None:
    client, process = server
    body = {"name": "Mugs"}

    async with nothing_written(database):
        try:
            huge = await client.post(
                "/categories", json=body, headers={"Idempotency-Key": "k" * MEGABYTE}
            )
        except (httpx.ReadError, httpx.WriteError):
            # uvicorn answers 400 and hangs up at once: the reset may reach the client first.
            refused = None
        else:
            refused = huge.status_code
        # Under the server's limit, over the app's: the app's own JSON 422.
        long = await client.post("/categories", json=body, headers={"Idempotency-Key": "k" * 8000})
        just_over = await client.post(
            "/categories", json=body, headers={"Idempotency-Key": "k" * 256}
        )

    assert refused in (400, None)  # uvicorn's, before the app
    for response in (long, just_over):
        [error] = problem(response, 422, "validation_failed")["errors"]
        assert error["loc"] == ["header", "idempotency-key"]
    await still_serving(client, process)


async def test_nested_and_oversized_bodies_are_json_errors_and_the_server_survives(
    server: Server, database: DB
) -> None:
    client, process = server

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10 * 128):
            yield b"[" * 8192

    async with nothing_written(database):
        nested = await client.post("/orders", content=b"[" * 10_000 + b"]" * 10_000, headers=JSON)
        declared = await client.post("/orders", content=b"[" * 10 * MEGABYTE, headers=JSON)
        chunked = await client.post("/orders", content=chunks(), headers=JSON)

    problem(nested, 422, "validation_failed")
    problem(declared, 413, "payload_too_large")
    problem(chunked, 413, "payload_too_large")
    assert "content-length" not in chunked.request.headers
    await still_serving(client, process)
