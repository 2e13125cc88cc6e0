"""Consuming boundbox events with exactly-once effects on at-least-once delivery.

from outbox.consumer import Consumer, Delivery, Handlers

handlers = Handlers()

@handlers.on("order.placed")
async def count_order(delivery: Delivery) -> None:
    # Runs in the consumer's transaction, with the message's inbox entry: once per message.
    await OrderCount.get_pymongo_collection().update_one(
        {"_id": delivery.event.payload["customer"]}, {"$inc": {"orders": 1}}, upsert=True
    )

consumer = Consumer("billing", handlers)   # queue `boundbox.billing`, inbox key "billing"

Rebuilding a projection from the event store without downtime: `Rebuild(Projection(...))`,
see `outbox.consumer.rebuild` (handlers write `generations.collection(Document)`).

Ordered mode (each aggregate's events in version order, over any number of instances):
`Topology(..., partitions=N)`, see `outbox.consumer.ordered`.

A process runs it with `serve(Service(...), stop_on_signals())`: see `outbox.consumer.service`
and `services.sales.main`, which does exactly that.
"""

from outbox.consumer.applying import Projection
from outbox.consumer.building import RebuildError
from outbox.consumer.consumer import BatchHandler, Consumer, Guard, Outcome
from outbox.consumer.envelope import Delivery, Event, parse
from outbox.consumer.errors import ConsumerError, PoisonMessageError
from outbox.consumer.failures import Backoff, Kind, Reason, classify
from outbox.consumer.generations import Generation
from outbox.consumer.handlers import Handler, Handlers
from outbox.consumer.inbox import InboxEntry
from outbox.consumer.membership import Ordering
from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.progress import Progress
from outbox.consumer.rebuild import Rebuild, Summary
from outbox.consumer.runner import connect, run_consumer
from outbox.consumer.service import Service, kill_after_commit_hook, serve, stop_on_signals
from outbox.consumer.topology import Topology, declare
from outbox.consumer.trust import TrustedPublishers, UntrustedPublisherError
from outbox.consumer.worker import Worker

__all__ = [
    "Backoff",
    "BatchHandler",
    "Consumer",
    "ConsumerError",
    "ConsumerMetrics",
    "Delivery",
    "Event",
    "Generation",
    "Guard",
    "Handler",
    "Handlers",
    "InboxEntry",
    "Kind",
    "Ordering",
    "Outcome",
    "PoisonMessageError",
    "Progress",
    "Projection",
    "Reason",
    "Rebuild",
    "RebuildError",
    "Service",
    "Summary",
    "Topology",
    "TrustedPublishers",
    "UntrustedPublisherError",
    "Worker",
    "classify",
    "connect",
    "declare",
    "kill_after_commit_hook",
    "parse",
    "run_consumer",
    "serve",
    "stop_on_signals",
]
