"""A whole boundbox stack for one chaos scenario: API, relay and sales consumer as processes.

Every name is the scenario's own (shop and sales databases, exchange, queues), so scenarios
never see each other's events. The components may reach RabbitMQ through a proxy (`amqp_url`)
while the witness subscriber and the test's checks always talk to the broker directly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from aio_pika.abc import AbstractRobustConnection
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from tests.chaos.processes import Component
from tests.chaos.subscriber import Subscriber
from tests.consumer.conftest import AMQP_URL, Names
from tests.support.auth import AUTH_ENV, admin_headers
from tests.support.processes import free_port


class ChaosStack:
    def __init__(
        self,
        *,
        names: Names,
        broker: AbstractRobustConnection,
        mongodb_url: str,
        log_dir: Path,
        amqp_url: str = AMQP_URL,
        replicas: Mapping[str, int] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        run = names.prefix.rsplit(".", 1)[-1]
        self.run_id = run
        self.log_dir = log_dir
        self.sales_queue = names.queue("sales")  # deleted with the test's broker objects
        self.broker = broker
        ports = {name: free_port() for name in ("api", "relay", "consumer")}
        self.env = {
            **os.environ,
            "MONGODB_URL": mongodb_url,
            "MONGODB_DB": f"bbchaos_{run}",
            "SALES_DB": f"bbchaos_sales_{run}",
            "AMQP_URL": amqp_url,
            "EXCHANGE_NAME": names.exchange,
            "CONSUMER_QUEUE_PREFIX": names.prefix,
            "ARCHIVE_QUEUE": names.queue("archive"),  # deleted with the test's broker objects
            "API_PORT": str(ports["api"]),
            "RELAY_PORT": str(ports["relay"]),
            "CONSUMER_PORT": str(ports["consumer"]),
            "RELAY_ID": f"chaos-{run}",
            "CONSUMER_ID": f"chaos-{run}",
            "RELAY_POLL_INTERVAL": "0.01",
            # A SIGKILLed relay's partitions are taken over this long after its last renewal.
            "RELAY_LEASE_TTL": "2",
            "RELAY_RETRY_BACKOFF": "0.05",
            "RELAY_RETRY_BACKOFF_MAX": "0.5",
            "CONSUMER_RETRY_BACKOFF": "0.05",
            "CONSUMER_RETRY_BACKOFF_MAX": "0.5",
            "LOG_LEVEL": "WARNING",
            **AUTH_ENV,
            **(extra_env or {}),
        }
        counts = {"api": 1, "relay": 1, "consumer": 1, **(replicas or {})}

        def components(
            name: str, args: tuple[str, ...], port: str, ready: str, identity: str | None = None
        ) -> list[Component]:
            """`counts[name]` of them: the first keeps the stack's port, the others get theirs."""
            made = []
            for n in range(counts[name]):
                label = name if n == 0 else f"{name}-{n + 1}"
                env = self.env if n == 0 else self.env | {port: str(free_port())}
                if identity is not None and n > 0:
                    env[identity] = f"{env[identity]}-{n + 1}"
                url = f"http://127.0.0.1:{env[port]}"
                made.append(
                    Component(label, args, env, url, ready, log_dir / f"{label}.log", identity)
                )
            return made

        # Ready: the consumer consumes its queue, the relay reaches broker and database, the
        # API reaches MongoDB.
        self.consumers = components(
            "consumer", ("consume", "sales"), "CONSUMER_PORT", "/readyz", "CONSUMER_ID"
        )
        self.relays = components("relay", ("relay",), "RELAY_PORT", "/healthz", "RELAY_ID")
        self.apis = components("api", ("api",), "API_PORT", "/readyz")
        self.consumer, self.relay, self.api = self.consumers[0], self.relays[0], self.apis[0]
        self.api_url, self.consumer_url = self.api.url, self.consumer.url
        self.subscriber = Subscriber(
            broker, exchange=names.exchange, queue=f"{names.prefix}.witness"
        )
        self.probes = httpx.AsyncClient(timeout=5, headers=admin_headers())
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            mongodb_url,
            uuidRepresentation="standard",
            tz_aware=True,
            serverSelectionTimeoutMS=10_000,
        )

    @property
    def components(self) -> Iterator[Component]:
        yield from (*self.apis, *self.relays, *self.consumers)

    @property
    def shop(self) -> AsyncDatabase[dict[str, Any]]:
        return self.client[self.env["MONGODB_DB"]]

    @property
    def sales(self) -> AsyncDatabase[dict[str, Any]]:
        return self.client[self.env["SALES_DB"]]

    async def start(self) -> ChaosStack:
        """The witness and the sales queue are bound before the first event can be published."""
        await self.subscriber.start()
        for consumer in self.consumers:
            consumer.spawn()
        for consumer in self.consumers:
            await self.ready(consumer)
        for component in (*self.relays, *self.apis):
            component.spawn()
        for component in (*self.relays, *self.apis):
            await self.ready(component)
        return self

    async def restart(self, component: Component) -> None:
        """SIGKILL `component` (if running), start it again and wait until it is ready."""
        component.kill()
        component.spawn()
        await self.ready(component)

    async def ready(self, component: Component) -> None:
        """Waits until `component` is ready; a failure says whether MongoDB answered."""
        try:
            await component.ready(self.probes)
        except AssertionError as e:
            try:
                await self.client.admin.command("ping", maxTimeMS=2_000)
                mongodb = "MongoDB answers a ping"
            except PyMongoError as error:
                mongodb = f"MongoDB does not answer: {type(error).__name__}: {error}"[:300]
            raise AssertionError(
                f"{component.name} not ready: {e}\n{mongodb}\n{component.output()}"
            ) from None

    async def health(self, component: Component) -> dict[str, Any]:
        """The component's /healthz body ({} while it does not answer)."""
        try:
            body: dict[str, Any] = (await self.probes.get(f"{component.url}/healthz")).json()
        except httpx.TransportError:
            return {}
        return body

    async def metric(self, component: Component, name: str, **labels: str) -> float:
        """A sample of the component's /metrics (0 when absent)."""
        text = (await self.probes.get(f"{component.url}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return 0.0

    def stop(self) -> dict[str, int]:
        """Clean stops (SIGTERM): consumers, relays, APIs; their exit codes."""
        ordered = (*self.consumers, *self.relays, *self.apis)
        return {c.name: c.terminate() for c in ordered if c.process}

    async def close(self) -> None:
        """Kills whatever still runs, drops the scenario's databases, closes every client."""
        for component in self.components:
            component.kill()
        try:
            await self.subscriber.close()
            with contextlib.suppress(ConnectionFailure):  # a scenario may end with MongoDB down
                for database in (self.env["MONGODB_DB"], self.env["SALES_DB"]):
                    await self.client.drop_database(database)
        finally:
            await self.client.close()
            await self.probes.aclose()
