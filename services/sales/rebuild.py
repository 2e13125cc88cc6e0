"""The composition root of `boundbox consume sales --rebuild`: the projection built anew.

It reads the shop's event store (`outbox` in MONGODB_DB) into a new generation of the sales
projection in SALES_DB, switches the read API and the running consumers to it, and drops the
old one (see `outbox.consumer.rebuild`). A `boundbox consume sales` keeps running meanwhile.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any, TextIO

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from boundbox import runtime
from boundbox.settings import Settings
from outbox import OutboxEvent, RetryPolicy, use_client
from outbox.consumer import Consumer, InboxEntry
from outbox.consumer.applying import Projection
from outbox.consumer.building import RebuildError
from outbox.consumer.progress import Progress
from outbox.consumer.rebuild import Rebuild, Summary
from services.sales.documents import COLLECTIONS, CONSUMER, DOCUMENT_MODELS
from services.sales.handlers import apply_batch, handlers

CHUNK_SIZE = 2000
"""Events per transaction of a pass. Each chunk rewrites every document it touches once, so
bigger chunks write less per event (100,000 events: 2,000 per chunk took 0.6 of the time of
500); still small next to MongoDB's limits on a transaction (60 s, 16 MB of writes)."""


def projection(settings: Settings) -> Projection:
    """The sales projection as a rebuild sees it: its handlers, collections and batch step."""
    consumer = Consumer(
        CONSUMER,
        handlers,
        policy=RetryPolicy(budget_seconds=settings.transaction_budget_seconds),
        max_message_bytes=settings.consumer_max_message_bytes,
    )
    return Projection(consumer=consumer, collections=COLLECTIONS, apply_batch=apply_batch)


def summary_line(summary: Summary) -> str:
    extra = "".join(
        [
            ", resumed" if summary.resumed else "",
            f", {summary.refused:,} refused as poison" if summary.refused else "",
        ]
    )
    return (
        f"rebuilt {summary.consumer}: generation {summary.generation} active "
        f"(generation {summary.previous} dropped), {summary.events:,} events in "
        f"{summary.seconds:.1f} s ({summary.rate:,.0f} events/s, {summary.passes} passes{extra})"
    )


async def rebuild(
    settings: Settings,
    client: AsyncMongoClient[Any],
    *,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Summary:
    """Rebuilds the sales projection with `client`; RebuildError (one line) on failure."""
    use_client(client)
    try:
        database = client[settings.sales_db]
        await init_beanie(database=database, document_models=[InboxEntry, *DOCUMENT_MODELS])
        return await Rebuild(
            projection(settings),
            database=database,
            events=client[settings.mongodb_db][OutboxEvent.Settings.name],
            dedupe_window=timedelta(seconds=settings.consumer_dedupe_window_seconds),
            progress=progress,
            chunk_size=chunk_size,
        ).run()
    except PyMongoError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RebuildError(f"MongoDB: {first[:300]}") from e
    finally:
        use_client(None)


async def main(settings: Settings, out: TextIO) -> None:
    client = runtime.mongo_client(settings.mongodb_url, appname="boundbox-sales-rebuild")
    try:
        summary = await rebuild(settings, client)
    finally:
        await client.close()
    out.write(summary_line(summary) + "\n")


def run(settings: Settings) -> int:
    """Rebuilds the sales projection, progress on stderr and a summary on stdout; exit 0.

    Raises RebuildError (a BoundboxError) with one line when it cannot.
    """
    runtime.run(main(settings, sys.stdout))
    return 0
