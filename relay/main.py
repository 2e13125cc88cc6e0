"""The relay's composition root: the only place that builds clients from settings.

`run()` is `boundbox relay`: it serves until SIGTERM or SIGINT, finishes the batch in flight,
gives its leases back and returns 0. `serve()` is the same relay for an event loop that is
already running (tests, benchmarks), stopped by setting an event.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket

from boundbox import runtime, telemetry
from boundbox.settings import Settings, broker_user
from outbox.events import OutboxEvent
from relay import mongo
from relay.archive import Retention
from relay.broker import Broker
from relay.errors import RelayStartError
from relay.health import Dependency
from relay.http import HttpServer, Status, create_app
from relay.leases import LeaseKeeper
from relay.lifecycle import prepare, supervise
from relay.loop import Relay
from relay.metrics import Metrics
from relay.store import OutboxStore
from relay.wakeup import Waker

log = logging.getLogger("boundbox.relay")


def run(settings: Settings) -> int:
    """Runs the relay until SIGTERM or SIGINT; raises RelayStartError when it cannot start.

    Traces go where the OTEL_* variables say (boundbox.telemetry); ConfigurationError when
    they ask for tracing without the SDK.
    """
    telemetry.configure("boundbox-relay")
    return runtime.run(_until_signalled(settings))


async def _until_signalled(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)
    return 0


def default_relay_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


async def serve(settings: Settings, stop: asyncio.Event, *, metrics: Metrics | None = None) -> None:
    """Runs one relay until `stop` is set; it has given its leases back when this returns."""
    relay_id = settings.relay_id or default_relay_id()
    metrics = metrics or Metrics()
    broker_state = Dependency("broker", log, lambda up: metrics.set_up("broker", up))
    database_state = Dependency("database", log, lambda up: metrics.set_up("database", up))
    client = mongo.client(
        settings.mongodb_url,
        timeout=settings.relay_db_timeout,
        appname=f"boundbox-relay-{relay_id}",
    )
    broker = Broker(
        settings.relay_broker_url,
        settings.exchange_name,
        connection_name=f"boundbox-relay {relay_id}",
        connect_timeout=settings.relay_publish_timeout,
        state=broker_state,
        archive_queue=settings.archive_queue,
        archive_retention=Retention(
            max_bytes=settings.archive_max_bytes,
            max_age=settings.archive_max_age,
            segment_bytes=settings.archive_segment_bytes,
        ),
    )
    try:
        database = client[settings.mongodb_db]
        store = OutboxStore(
            database,
            retention_seconds=settings.relay_retention_seconds or None,
            state=database_state,
        )
        leases = LeaseKeeper(
            database,
            relay_id=relay_id,
            ttl=settings.relay_lease_ttl,
            database_state=database_state,
            on_change=metrics.leases_held.set,
            accepting=lambda: broker_state.down_for() < settings.relay_lease_ttl,
        )
        waker = Waker(
            database[OutboxEvent.Settings.name],
            poll_interval=settings.relay_poll_interval,
            stream_poll_interval=settings.relay_stream_poll_interval,
        )
        relay = Relay(
            store=store,
            broker=broker,
            leases=leases,
            waker=waker,
            metrics=metrics,
            batch_size=settings.relay_batch_size,
            max_attempts=settings.relay_max_attempts,
            retry_backoff=settings.relay_retry_backoff,
            retry_backoff_max=settings.relay_retry_backoff_max,
            publish_timeout=settings.relay_publish_timeout,
            # RabbitMQ checks it against the connection's user: what consumers trust.
            user_id=broker_user(settings.relay_broker_url),
        )
        status = Status(relay_id, broker_state, database_state, lambda: len(leases.partitions()))
        http = HttpServer(
            create_app(status, metrics), host=settings.relay_host, port=settings.relay_port
        )
        try:
            await http.start()
        except OSError as e:
            where = f"{settings.relay_host}:{settings.relay_port}"
            raise RelayStartError(f"cannot listen on {where}: {e.strerror or e}") from None
        try:
            if await prepare(store, leases, stop):
                log.info(
                    "relay started id=%s exchange=%r database=%r http=%s:%d",
                    relay_id,
                    settings.exchange_name,
                    settings.mongodb_db,
                    settings.relay_host,
                    settings.relay_port,
                )
                await supervise(
                    relay, leases=leases, waker=waker, store=store, metrics=metrics, stop=stop
                )
        finally:
            await http.stop()
    finally:
        await broker.close()
        await client.close()
    log.info("relay stopped id=%s", relay_id)
