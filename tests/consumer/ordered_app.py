"""A small ordered consumer process for tests: `python -m tests.consumer.ordered_app`.

It runs `outbox.consumer.serve` as `boundbox consume sales` does, with one handler that appends
each `thing.changed` event's version, and this instance's id, to its aggregate's document in
`applied`: the order and the number of times each version was applied, and by whom.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from boundbox import runtime
from boundbox.settings import broker_user
from outbox.consumer import (
    Backoff,
    Consumer,
    Delivery,
    Handlers,
    InboxEntry,
    Service,
    Topology,
    TrustedPublishers,
    serve,
    stop_on_signals,
)
from outbox.consumer.membership import Ordering

handlers = Handlers()
MEMBER = os.environ.get("ORDERED_MEMBER", "")


@handlers.on("thing.changed")
async def record(delivery: Delivery) -> None:
    """Appends the version and this instance to the aggregate's document."""
    await (
        InboxEntry.get_pymongo_collection()
        .database["applied"]
        .update_one(
            {"_id": delivery.event.aggregate_id},
            {"$push": {"versions": delivery.event.aggregate_version, "by": MEMBER}},
            upsert=True,
        )
    )


async def main() -> None:
    env = os.environ
    client = runtime.mongo_client(env["MONGODB_URL"], appname=f"ordered-{MEMBER}")
    service = Service(
        consumer=Consumer("things", handlers, batch=8),  # the version check runs in batches too
        topology=Topology(
            exchange=env["EXCHANGE_NAME"],
            queue=f"{env['CONSUMER_QUEUE_PREFIX']}.things",
            patterns=handlers.types,
            max_deliveries=10,
            partitions=int(env["CONSUMER_PARTITIONS"]),
        ),
        amqp_url=env["AMQP_URL"],
        trusted=TrustedPublishers([broker_user(env["AMQP_URL"])]),
        connection_name=f"test:ordered:{MEMBER}",
        prefetch=16,
        backoff=Backoff(0.2, 1.0),
        client=client,
        database=env["DATABASE"],
        document_models=[],
        dedupe_window=timedelta(days=1),
        host="127.0.0.1",
        port=int(env["CONSUMER_PORT"]),
        ordering=Ordering(member=MEMBER, heartbeat=0.3, expiry=2.0),
    )
    try:
        await serve(service, stop_on_signals())
    finally:
        await client.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    runtime.run(main())
