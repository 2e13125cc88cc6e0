"""The composition root of `boundbox audit`: the shop's database, the sales projection and the
archive stream in, a report out (services.audit does the comparing)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from aio_pika.exceptions import AMQPException
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

import outbox
from boundbox import runtime
from boundbox.errors import BoundboxError
from boundbox.settings import Settings
from outbox.consumer.progress import Progress
from services import audit as auditing
from services.sales.figures import Figures, stored_figures
from services.store import DOCUMENT_MODELS


class AuditUnavailableError(BoundboxError):
    """MongoDB or RabbitMQ could not be read: nothing was concluded."""


async def run(
    settings: Settings, *, out: TextIO, err: TextIO, as_json: bool, archive: bool, sales: bool
) -> int:
    """Prints one line per mismatch and a summary (or one JSON document); 0 when all agree."""
    client = runtime.mongo_client(settings.mongodb_url, appname="boundbox-audit")
    try:
        report = await _audit(settings, client, err, archive=archive, sales=sales)
    except PyMongoError as e:
        raise AuditUnavailableError(f"cannot read MongoDB: {e}") from e
    finally:
        await client.close()
    if as_json:
        out.write(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        for mismatch in report.mismatches:
            out.write(mismatch.line() + "\n")
        out.write(report.summary() + "\n")
    return 0 if report.ok else 1


async def _audit(
    settings: Settings, client: AsyncMongoClient[Any], err: TextIO, *, archive: bool, sales: bool
) -> auditing.AuditReport:
    await init_beanie(
        database=client[settings.mongodb_db],
        document_models=[*outbox.DOCUMENT_MODELS, *DOCUMENT_MODELS],
        skip_indexes=True,
    )
    progress = Progress(err)
    progress.start("audit", await auditing.size())

    async def read_sales() -> Figures:
        return await stored_figures(client[settings.sales_db])

    async def read_archive(published: int) -> set[str]:
        from relay.archive import archived_message_ids

        try:
            return await archived_message_ids(
                settings.amqp_url, settings.archive_queue, expected=published
            )
        except (AMQPException, OSError, ValueError) as e:
            raise AuditUnavailableError(
                f"cannot read the archive {settings.archive_queue!r}: {e}"
            ) from e

    report = await auditing.audit(
        progress=progress.advance,
        sales=read_sales if sales else None,
        archive=read_archive if archive and settings.archive_queue else None,
    )
    progress.finish()
    return report
