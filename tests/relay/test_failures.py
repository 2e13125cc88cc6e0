"""Events that fail on their own account: poison documents and unroutable messages."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, datetime

import aio_pika
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from outbox.events import partition_of
from relay.archive import read_stream, stream_end
from tests.relay.support import AMQP_URL, ROOT, Consumer, metric, record_many, running_relay
from tests.support.processes import eventually

Database = AsyncDatabase[dict[str, object]]


async def boundbox_outbox(command: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    """Runs `boundbox outbox <command>` against the relay's database."""
    env = {**os.environ, "MONGODB_URL": settings.mongodb_url, "MONGODB_DB": settings.mongodb_db}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "boundbox", "outbox", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def insert_poison(database: Database, aggregate_id: str) -> None:
    """Version 1 of `aggregate_id` with a payload BSON accepts and JSON does not."""
    now = datetime.now(UTC)
    await database["outbox"].insert_one(
        {
            "_id": uuid.uuid4(),
            "type": "order.placed",
            "aggregate_type": "order",
            "aggregate_id": aggregate_id,
            "aggregate_version": 1,
            "occurred_at": now,
            "payload": {"when": now},
            "headers": {"correlation_id": None, "causation_id": None, "traceparent": None},
            "routing_key": "order.placed",
            "partition": partition_of("order", aggregate_id),
            "status": "pending",
            "attempts": 0,
            "available_at": now,
        }
    )
    # The aggregate's stream knows version 1, so record() appends version 2 after it.
    await database["outbox_streams"].insert_one({"_id": f"order:{aggregate_id}", "version": 1})


async def test_a_poison_event_is_parked_while_others_flow_and_retry_failed_requeues_it(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    database: Database,
) -> None:
    await insert_poison(database, "p-1")
    await record_many("order", ["p-1", "o-1", "o-2"])  # p-1 gets version 2, held behind 1
    settings = settings_for(relay_max_attempts=3)
    outbox = database["outbox"]

    async with running_relay(settings) as relay:

        async def parked() -> bool:
            poison = await outbox.find_one({"aggregate_id": "p-1", "aggregate_version": 1})
            return poison is not None and poison["status"] == "failed"

        await eventually(parked)
        poison = await outbox.find_one({"aggregate_id": "p-1", "aggregate_version": 1})
        assert poison is not None
        assert poison["attempts"] == 3
        assert "not JSON" in str(poison["last_error"])
        assert metric(relay, "boundbox_relay_parked_total") == 1
        assert (
            metric(relay, "boundbox_relay_publish_failures_total", {"reason": "unpublishable"}) == 3
        )

        await record_many("order", ["o-3"])  # the others keep flowing
        await consumer.wait_for(3)
        assert sorted(m.aggregate_id for m in consumer.received) == ["o-1", "o-2", "o-3"]
        follower = await outbox.find_one({"aggregate_id": "p-1", "aggregate_version": 2})
        assert follower is not None and follower["status"] == "pending"  # held back, in order

        status = await boundbox_outbox("status", settings)
        assert status.returncode == 0, status.stderr
        assert "pending  1" in status.stdout and "failed   1" in status.stdout

        # An operator repairs the document, then re-queues what was parked.
        await outbox.update_one(
            {"aggregate_id": "p-1", "aggregate_version": 1},
            {"$set": {"payload": {"when": "today"}}},
        )
        retried = await boundbox_outbox("retry-failed", settings)
        assert retried.returncode == 0, retried.stderr
        assert retried.stdout.strip() == "re-queued 1 failed event"

        await consumer.wait_for(5)
        versions = [m.version for m in consumer.received if m.aggregate_id == "p-1"]
        assert versions == [1, 2]

    status = await boundbox_outbox("status", settings)
    assert "pending  0" in status.stdout and "failed   0" in status.stdout


async def test_an_unroutable_message_is_a_failure(
    recording: None,
    exchange: str,
    test_id: str,
    settings_for: Callable[..., Settings],
    database: Database,
) -> None:
    orders_only = await Consumer(exchange, name=f"{test_id} orders", bindings=("order.#",)).start()
    try:
        await record_many("invoice", ["i-1"], name="issued")  # no queue is bound for invoice.*
        await record_many("order", ["o-1", "o-2"])
        async with running_relay(settings_for(relay_max_attempts=2)) as relay:
            await orders_only.wait_for(2)

            async def parked() -> dict[str, object] | None:
                return await database["outbox"].find_one(
                    {"aggregate_id": "i-1", "status": "failed"}
                )

            invoice = await eventually(parked)
            assert "NO_ROUTE" in str(invoice["last_error"])
            assert invoice["attempts"] == 2
            refused = {"reason": "refused"}
            assert metric(relay, "boundbox_relay_publish_failures_total", refused) == 2
            assert metric(relay, "boundbox_relay_published_total") == 2
    finally:
        await orders_only.close()
    assert [m.routing_key for m in orders_only.received] == ["order.changed", "order.changed"]


async def test_an_archive_queue_makes_every_event_routable(
    recording: None,
    exchange: str,
    settings_for: Callable[..., Settings],
    database: Database,
) -> None:
    archive = f"{exchange}.archive"
    await record_many("invoice", ["i-1"], name="issued")  # only the archive is bound for it
    connection = await aio_pika.connect(AMQP_URL)
    try:
        async with running_relay(settings_for(archive_queue=archive)) as relay:

            async def published() -> int:
                return await database["outbox"].count_documents(
                    {"aggregate_id": "i-1", "status": "published"}
                )

            await eventually(published)
            assert metric(relay, "boundbox_relay_published_total") == 1
        channel = await connection.channel()
        end = await stream_end(channel, archive, wait=5, settle=0.5)
        channel = await connection.channel()
        async with aclosing(read_stream(channel, archive, until=end)) as messages:
            archived = [json.loads(message.body)["type"] async for message in messages]
        assert archived == ["invoice.issued"]
    finally:
        channel = await connection.channel()
        await channel.queue_delete(archive)
        await channel.exchange_delete(exchange)
        await connection.close()
