"""The whole boundbox stack as separate processes: dev database, API, relay, sales consumer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aio_pika

from tests.support.auth import AUTH_ENV
from tests.support.processes import DevDbProcess, free_port, interpreter


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (Linux VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Service:
    name: str
    args: list[str]
    health_url: str
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str], log: IO[bytes], source: Path | None = None) -> None:
        # `python -m` imports from the working directory first: `source` runs another checkout.
        self.process = subprocess.Popen(
            [interpreter(source), "-m", "boundbox", *self.args],
            env=env,
            stdout=log,
            stderr=log,
            cwd=source,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.health_url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Stack:
    """Starts everything with names of its own (databases, exchange, queue), stops in order."""

    log_path: Path
    source: Path | None = None
    """Another checkout of boundbox to run (e.g. an older commit), else this one."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    devdb: DevDbProcess | None = None
    services: dict[str, Service] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def start(self, mongodb_url: str | None = None) -> Stack:
        if mongodb_url is None:
            self.devdb = DevDbProcess(source=self.source).start()
            mongodb_url = self.devdb.url
        ports = {name: free_port() for name in ("api", "relay", "consumer")}
        self.env = {
            **os.environ,
            "MONGODB_URL": mongodb_url,
            "MONGODB_DB": f"bench_{self.run_id}",
            "SALES_DB": f"bench_sales_{self.run_id}",
            "EXCHANGE_NAME": f"bench.{self.run_id}",
            "CONSUMER_QUEUE_PREFIX": f"bench-{self.run_id}",
            # Every event has a queue, as in production: an event nothing is bound to is
            # returned unroutable and parks its aggregate's later events behind it.
            "ARCHIVE_QUEUE": f"bench-{self.run_id}.archive",
            "API_PORT": str(ports["api"]),
            "RELAY_PORT": str(ports["relay"]),
            "CONSUMER_PORT": str(ports["consumer"]),
            "LOG_LEVEL": "WARNING",
            **AUTH_ENV,  # the API and the consumer verify tokens, as in production
        }
        self.services = {
            "api": Service("api", ["api"], f"http://127.0.0.1:{ports['api']}/healthz"),
            "relay": Service("relay", ["relay"], f"http://127.0.0.1:{ports['relay']}/healthz"),
            "consumer": Service(
                "consumer", ["consume", "sales"], f"http://127.0.0.1:{ports['consumer']}/healthz"
            ),
        }
        self._log = self.log_path.open("ab")
        for service in self.services.values():
            service.start(self.env, self._log, self.source)
        for service in self.services.values():
            service.wait_healthy()
        return self

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def consumer_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CONSUMER_PORT']}"

    def peak_rss(self) -> dict[str, float]:
        pids = {name: s.process.pid for name, s in self.services.items() if s.process}
        if self.devdb is not None and self.devdb.process is not None:
            pids["devdb"] = self.devdb.process.pid
        return {name: peak_rss_mib(pid) for name, pid in pids.items()}

    async def delete_broker_objects(self) -> None:
        """Removes the run's exchange and the consumer's queues from the shared broker."""
        if not self.env:
            return
        queue = f"{self.env['CONSUMER_QUEUE_PREFIX']}.sales"
        url = self.env.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        async with await aio_pika.connect(url) as connection:
            channel = await connection.channel()
            for name in (queue, f"{queue}.dlq", self.env["ARCHIVE_QUEUE"]):
                await channel.queue_delete(name)
            for name in (f"{queue}.dlx", self.env["EXCHANGE_NAME"]):
                await channel.exchange_delete(name)

    def stop(self) -> None:
        for name in ("consumer", "relay", "api"):
            if name in self.services:
                self.services[name].stop()
        if self.devdb is not None:
            self.devdb.stop()
        self._log.close()
