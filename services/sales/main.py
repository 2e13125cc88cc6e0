"""The composition root of `boundbox consume sales`: settings in, a running consumer out."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from boundbox import runtime, telemetry
from boundbox.errors import ConfigurationError
from boundbox.settings import Settings
from outbox import RetryPolicy
from outbox.consumer import (
    Backoff,
    Consumer,
    ConsumerError,
    Service,
    Topology,
    TrustedPublishers,
    kill_after_commit_hook,
    serve,
    stop_on_signals,
)
from outbox.consumer.membership import Ordering, member_id
from services.sales.documents import CONSUMER, DOCUMENT_MODELS
from services.sales.handlers import apply_batch, handlers
from services.sales.routes import sales_router
from services.security import Authenticator, authenticator_from

NAME = CONSUMER
log = logging.getLogger("boundbox.sales")


def default_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def build(
    settings: Settings, client: AsyncMongoClient[Any], authenticator: Authenticator
) -> Service:
    """The sales consumer process described by `settings`."""
    consumer = Consumer(
        NAME,
        handlers,
        policy=RetryPolicy(budget_seconds=settings.transaction_budget_seconds),
        max_message_bytes=settings.consumer_max_message_bytes,
        batch=settings.consumer_batch,
        apply_batch=apply_batch,
    )
    return Service(
        consumer=consumer,
        topology=Topology(
            exchange=settings.exchange_name,
            queue=f"{settings.consumer_queue_prefix}.{NAME}",
            patterns=handlers.types,
            max_deliveries=settings.consumer_max_deliveries,
            partitions=settings.consumer_partitions if settings.consumer_ordered else 0,
        ),
        amqp_url=settings.consumer_broker_url,
        trusted=TrustedPublishers(settings.trusted_publisher_users),
        connection_name=f"boundbox-consume-{NAME}:{settings.consumer_id or default_id()}",
        prefetch=settings.consumer_prefetch,
        backoff=Backoff(settings.consumer_retry_backoff, settings.consumer_retry_backoff_max),
        client=client,
        database=settings.sales_db,
        document_models=DOCUMENT_MODELS,
        dedupe_window=timedelta(seconds=settings.consumer_dedupe_window_seconds),
        host=settings.consumer_host,
        port=settings.consumer_port,
        routers=[sales_router(authenticator)],
        after_commit=kill_after_commit_hook(),
        instrument_app=telemetry.instrument_app,
        ordering=Ordering(
            member=member_id(settings.consumer_id),
            heartbeat=settings.consumer_heartbeat_seconds,
            expiry=settings.consumer_member_expiry_seconds,
        ),
    )


def authenticator_of(settings: Settings) -> Authenticator:
    """The read API's authenticator (ConfigurationError if unusable); warns when it is off."""
    authenticator = authenticator_from(settings)
    if not authenticator.enabled:
        log.warning("authentication is OFF (AUTH_MODE=none): /sales/* answers every caller")
    return authenticator


async def main(settings: Settings, authenticator: Authenticator) -> int:
    stopping = stop_on_signals()
    # An outage shows within seconds (logs, /readyz); the message in hand is retried.
    client = runtime.mongo_client(settings.mongodb_url, appname="boundbox-sales")
    try:
        await serve(build(settings, client, authenticator), stopping)
    except ConsumerError as e:
        log.error("%s", e)
        return 1
    finally:
        await client.close()
    return 0


def run(settings: Settings) -> int:
    """Runs the sales consumer until SIGTERM or SIGINT; the exit code.

    Raises ConfigurationError before anything starts when AUTH_MODE=jwt has no usable key;
    exits 2 with one line when the OTEL_* variables ask for traces without the SDK.
    """
    authenticator = authenticator_of(settings)
    try:
        telemetry.configure("boundbox-sales")
    except ConfigurationError as e:
        log.error("configuration error: %s", e)
        return 2
    return runtime.run(main(settings, authenticator))
