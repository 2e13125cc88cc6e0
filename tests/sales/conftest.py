"""`boundbox consume sales` as a child process, on this test's queues and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo.asynchronous.database import AsyncDatabase

from tests.consumer.conftest import AMQP_URL, Names, broker, channel, names, test_id
from tests.support.auth import AUTH_ENV, admin_headers
from tests.support.processes import eventually, free_port

__all__ = ["broker", "channel", "names", "test_id"]  # the broker fixtures, shared


@dataclass
class SalesProcess:
    """One `boundbox consume sales` process; `http` talks to its port."""

    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}", timeout=5, headers=admin_headers()
        )

    async def start(self) -> SalesProcess:
        self.process = spawn(self.env)

        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"consume sales exited with {self.process.returncode}")
            try:
                return (await self.http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=30, interval=0.05)
        return self

    def terminate(self) -> int:
        """SIGTERM, then the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    async def exited(self) -> int:
        """The exit code once the process has ended by itself."""

        async def code() -> int | None:
            assert self.process is not None
            return self.process.poll()

        result: int = await eventually(code, within=15)  # a kill is -9: truthy
        return result

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.http.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return 0.0

    async def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        await self.http.aclose()


def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "boundbox", "consume", "sales"], env=env)


StartSales = Callable[..., Awaitable[SalesProcess]]


@pytest.fixture
async def start_sales(
    mongodb_url: str, database: AsyncDatabase[dict[str, Any]], names: Names
) -> AsyncIterator[StartSales]:
    """`await start_sales(**env)`: a sales consumer on this test's exchange, queues and database."""
    names.queue("sales")  # removed with the test's other broker objects
    processes: list[SalesProcess] = []

    async def start(**extra_env: str) -> SalesProcess:
        port = free_port()
        env = {
            **os.environ,
            "MONGODB_URL": mongodb_url,
            "SALES_DB": database.name,
            "AMQP_URL": AMQP_URL,
            "EXCHANGE_NAME": names.exchange,
            "CONSUMER_QUEUE_PREFIX": names.prefix,
            "CONSUMER_ID": names.test_id,  # in the broker's connection name
            "CONSUMER_PORT": str(port),
            "CONSUMER_RETRY_BACKOFF": "0.01",
            "CONSUMER_RETRY_BACKOFF_MAX": "0.05",
            "CONSUMER_MAX_DELIVERIES": "3",
            "LOG_LEVEL": "WARNING",
            **AUTH_ENV,
            **extra_env,
        }
        process = SalesProcess(env, port)
        processes.append(process)
        return await process.start()

    try:
        yield start
    finally:
        for process in processes:
            await process.close()
