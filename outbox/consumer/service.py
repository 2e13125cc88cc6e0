"""A consumer process: HTTP port, MongoDB, RabbitMQ, and a clean stop on SIGTERM or SIGINT.

The composition root of a consumer (e.g. `services.sales.main`) builds a `Service` and awaits
`serve(service, stopping)`. On the stop signal, the consumer stops taking messages, finishes
the one in hand, hands back the prefetched ones, and closes everything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from beanie import Document, init_beanie
from fastapi import APIRouter, FastAPI
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure

from outbox.consumer import inbox
from outbox.consumer.consumer import Consumer
from outbox.consumer.envelope import Delivery
from outbox.consumer.failures import Backoff, describe
from outbox.consumer.membership import Ordering
from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.runner import connect, is_connected, run_consumer
from outbox.consumer.topology import Topology
from outbox.consumer.trust import TrustedPublishers
from outbox.consumer.waiting import pause, stop_on_signals
from outbox.consumer.web import Health, HttpServer, create_app
from outbox.consumer.worker import AfterCommit
from outbox.session import use_client

log = logging.getLogger("boundbox.consumer")

__all__ = ["KILL_AFTER_COMMIT", "Service", "kill_after_commit_hook", "serve", "stop_on_signals"]

KILL_AFTER_COMMIT = "BOUNDBOX_TEST_KILL_AFTER_COMMIT"
"""Test hook: the message id (or `*`) after whose commit the process SIGKILLs itself."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """Everything one consumer process runs; built by its composition root."""

    consumer: Consumer
    topology: Topology
    amqp_url: str
    trusted: TrustedPublishers
    """The broker users whose events are applied (the relay's): see outbox.consumer.trust."""
    connection_name: str
    prefetch: int
    backoff: Backoff
    client: AsyncMongoClient[Any]
    database: str
    document_models: Sequence[type[Document]]
    dedupe_window: timedelta
    host: str
    port: int
    routers: Sequence[APIRouter] = ()
    after_commit: AfterCommit | None = None
    instrument_app: Callable[[FastAPI], None] | None = None
    """Called with the HTTP app before it serves (the process's tracing of requests)."""
    ordering: Ordering | None = None
    """How this instance takes part when `topology` is ordered (None: defaults, a random id)."""


def kill_after_commit_hook() -> AfterCommit | None:
    """The crash hook of KILL_AFTER_COMMIT when a test sets it, else None."""
    target = os.environ.get(KILL_AFTER_COMMIT)
    if not target:
        return None

    def kill(delivery: Delivery) -> None:
        if target in ("*", delivery.message_id):
            os.kill(os.getpid(), signal.SIGKILL)

    return kill


async def serve(service: Service, stopping: asyncio.Event) -> None:
    """Runs the consumer and its HTTP port until `stopping` is set."""
    name = service.consumer.name
    metrics = ConsumerMetrics(name)
    connection = connect(service.amqp_url, name=service.connection_name)
    database_ready = asyncio.Event()
    consuming = asyncio.Event()

    def health() -> Health:
        return Health(
            database=database_ready.is_set(),
            broker=is_connected(connection),
            consuming=consuming.is_set(),
        )

    app = create_app(
        title=f"boundbox consumer {name}", metrics=metrics, health=health, routers=service.routers
    )
    if service.instrument_app is not None:
        service.instrument_app(app)
    http = HttpServer(app, host=service.host, port=service.port)
    await http.start()
    log.info("consumer %s serving http://%s:%d", name, service.host, service.port)
    use_client(service.client)
    try:
        if not await _initialise(service, stopping):
            return
        database_ready.set()
        await run_consumer(
            service.consumer,
            connection,
            topology=service.topology,
            prefetch=service.prefetch,
            metrics=metrics,
            backoff=service.backoff,
            stopping=stopping,
            after_commit=service.after_commit,
            consuming=consuming,
            trusted=service.trusted,
            ordering=service.ordering,
        )
    finally:
        await connection.close()
        await http.stop()
        use_client(None)


async def _initialise(service: Service, stopping: asyncio.Event) -> bool:
    """Beanie and the inbox indexes, retried while MongoDB is unreachable; False on stop."""
    attempt = 0
    while True:
        try:
            await init_beanie(
                database=service.client[service.database],
                document_models=[inbox.InboxEntry, *service.document_models],
            )
            await inbox.ensure_ttl(service.dedupe_window)
            return True
        except ConnectionFailure as e:
            if attempt == 0:
                log.warning("MongoDB unreachable at start-up, retrying: %s", describe(e))
            if not await pause(service.backoff.delay(attempt), stopping):
                return False
            attempt += 1
