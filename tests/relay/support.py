"""Relay test helpers: a real consumer, events recorded the way services record them, relays."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from aio_pika.abc import AbstractIncomingMessage

import outbox
from boundbox.settings import Settings
from relay.main import serve
from relay.metrics import Metrics
from tests.support.processes import eventually, free_port

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Received:
    """What a consumer saw of one message."""

    routing_key: str
    message_id: str
    type: str | None
    content_type: str | None
    correlation_id: str | None
    app_id: str | None
    user_id: str | None
    timestamp: datetime | None
    delivery_mode: int
    headers: dict[str, Any]
    body: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.headers["aggregate_version"])

    @property
    def aggregate_id(self) -> str:
        return str(self.headers["aggregate_id"])


class Consumer:
    """A real aio-pika consumer: its own queue on the test's exchange, acking what it gets."""

    def __init__(self, exchange: str, *, name: str, bindings: tuple[str, ...] = ("#",)) -> None:
        self.exchange_name = exchange
        self.name = name
        self.bindings = bindings
        self.received: list[Received] = []
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._triggers: dict[int, Callable[[], None]] = {}

    def when(self, count: int, action: Callable[[], None]) -> None:
        """Runs `action` the moment the `count`-th message arrives (e.g. to kill a relay)."""
        self._triggers[count] = action

    async def start(self) -> Consumer:
        self._connection = await aio_pika.connect(
            AMQP_URL, client_properties={"connection_name": self.name}
        )
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for pattern in self.bindings:
            await queue.bind(exchange, pattern)
        await queue.consume(self._on_message)
        return self

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.received.append(
            Received(
                routing_key=message.routing_key or "",
                message_id=message.message_id or "",
                type=message.type,
                content_type=message.content_type,
                correlation_id=message.correlation_id,
                app_id=message.app_id,
                user_id=message.user_id,
                timestamp=message.timestamp,
                delivery_mode=int(message.delivery_mode or 0),
                headers=dict(message.headers),
                body=json.loads(message.body),
            )
        )
        if action := self._triggers.pop(len(self.received), None):
            action()
        await message.ack()

    def ids(self) -> list[str]:
        return [message.message_id for message in self.received]

    async def wait_for(self, count: int, *, within: float = 20.0) -> list[Received]:
        async def enough() -> bool:
            return len(self.received) >= count

        await eventually(enough, within=within)
        return self.received

    async def close(self) -> None:
        """Deletes the exchange (its queue goes with the connection) and disconnects."""
        if self._connection is None:
            return
        channel = await self._connection.channel()
        await channel.exchange_delete(self.exchange_name)
        await self._connection.close()


def relay_settings(*, mongodb_url: str, database: str, exchange: str, **overrides: Any) -> Settings:
    """Settings for a relay under test: fast polling, short leases and backoffs."""
    values: dict[str, Any] = {
        "mongodb_url": mongodb_url,
        "mongodb_db": database,
        "amqp_url": AMQP_URL,
        "exchange_name": exchange,
        "relay_port": free_port(),
        "relay_poll_interval": 0.01,
        "relay_lease_ttl": 2.0,
        "relay_retry_backoff": 0.05,
        "relay_retry_backoff_max": 0.2,
        "relay_publish_timeout": 5.0,
        "relay_db_timeout": 3.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings


@dataclass
class InProcessRelay:
    settings: Settings
    metrics: Metrics
    stop: asyncio.Event
    task: asyncio.Task[None]


@asynccontextmanager
async def running_relay(settings: Settings) -> AsyncIterator[InProcessRelay]:
    """A relay in this event loop; stopped (gracefully, and checked) when the block ends."""
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(serve(settings, stop, metrics=metrics), name="relay-under-test")
    relay = InProcessRelay(settings, metrics, stop, task)
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def metric(relay: InProcessRelay, name: str, labels: dict[str, str] | None = None) -> float:
    value = relay.metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def assert_each_once_in_order(consumer: Consumer, recorded: list[str]) -> None:
    """Every recorded event arrived exactly once; each aggregate's versions 1, 2, ... in order."""
    ids = consumer.ids()
    assert len(ids) == len(set(ids)), "an event was published twice"
    assert sorted(ids) == sorted(recorded)
    versions: dict[str, list[int]] = {}
    for message in consumer.received:
        versions.setdefault(message.aggregate_id, []).append(message.version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions


@outbox.transactional()
async def record_many(
    aggregate_type: str, aggregate_ids: list[str], *, name: str = "changed", **payload: Any
) -> list[outbox.OutboxEvent]:
    """One transaction recording one event per id (ids may repeat: consecutive versions)."""
    return [
        await outbox.record(
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            name=name,
            payload={"n": n, **payload},
        )
        for n, aggregate_id in enumerate(aggregate_ids)
    ]


class RelayProcess:
    """`python -m boundbox relay` in a child process, configured through its environment."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        env = {
            **os.environ,
            "MONGODB_URL": self.settings.mongodb_url,
            "MONGODB_DB": self.settings.mongodb_db,
            "AMQP_URL": self.settings.amqp_url,
            "EXCHANGE_NAME": self.settings.exchange_name,
            "RELAY_PORT": str(self.settings.relay_port),
            "RELAY_ID": self.settings.relay_id,
            "RELAY_BATCH_SIZE": str(self.settings.relay_batch_size),
            "RELAY_LEASE_TTL": str(self.settings.relay_lease_ttl),
            "RELAY_POLL_INTERVAL": str(self.settings.relay_poll_interval),
            "LOG_LEVEL": "INFO",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "boundbox", "relay"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.relay_port}"

    async def healthy(self, within: float = 20.0) -> None:
        async with httpx.AsyncClient() as client:

            async def ok() -> bool:
                assert self.process is not None and self.process.poll() is None, self.output()
                try:
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ok, within=within, interval=0.05)

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{self.url}/metrics")).text

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code of a graceful shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
