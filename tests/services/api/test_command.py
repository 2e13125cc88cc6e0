"""`boundbox api` serves the app with uvicorn on API_HOST:API_PORT."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.auth import AUTH_ENV, admin_headers
from tests.support.processes import eventually, free_port


async def test_boundbox_api_serves_and_says_where(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]]
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": database.name,
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **AUTH_ENV,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "boundbox", "api"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            announced = (await process.stdout.readline()).decode()
        assert f"http://127.0.0.1:{port}" in announced and "/docs" in announced

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=admin_headers()
        ) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=20)
            created = await client.post("/categories", json={"name": "Served"})
            assert created.status_code == 201
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            code = await process.wait()
    # uvicorn shuts down gracefully, then re-raises the signal it caught for its parent to see.
    assert code in (0, -signal.SIGTERM)


def test_without_a_key_to_verify_tokens_the_api_refuses_to_start_in_one_line(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "api"],
        cwd=tmp_path,  # no stray .env
        env={**env, "AUTH_MODE": "jwt", "API_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "boundbox: configuration error: AUTH_MODE=jwt needs a key to verify tokens: set "
        "AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL (or AUTH_MODE=none to turn authentication "
        "off)"
    ]
