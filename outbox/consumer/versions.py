"""Ordered mode's version rule: each aggregate's events are applied in version order, once.

The last applied `aggregate_version` of every aggregate is kept in the consumer's database
(`consumer_versions`), written in the transaction of the inbox entry and the effects:

- a version at or below the last one was applied (or passed over) before: a duplicate;
- the next one (last + 1), or any version of an aggregate not seen yet, is applied;
- a higher one is a gap: VersionGapError, the delivery is requeued and tried again later.

A message that is never applied (dead-lettered, or of a type without a handler) still takes
its version (`pass_over`), else its aggregate would stall forever. A gap that never closes is
dead-lettered as `version-gap` without taking its version: nothing is applied out of order.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from outbox.consumer.envelope import Delivery
from outbox.consumer.errors import NotYetError
from outbox.consumer.inbox import InboxEntry
from outbox.transaction import RetryPolicy, run_in_transaction

COLLECTION = "consumer_versions"


class Verdict(StrEnum):
    APPLY = "apply"  # the aggregate's next version
    DUPLICATE = "duplicate"  # applied or passed over before
    GAP = "gap"  # an earlier version has not been applied yet


class VersionGapError(NotYetError):
    """An earlier version of the event's aggregate is still to be applied: retry later."""


def verdict(last: int | None, version: int) -> Verdict:
    """What to do with `version` when `last` was applied last (None: nothing yet)."""
    if last is None:
        return Verdict.APPLY
    if version <= last:
        return Verdict.DUPLICATE
    return Verdict.APPLY if version == last + 1 else Verdict.GAP


def key(consumer: str, delivery: Delivery) -> str:
    """The `_id` of the aggregate's record, unambiguous whatever its type and id hold."""
    event = delivery.event
    return json.dumps([consumer, event.aggregate_type, event.aggregate_id])


def _collection() -> AsyncCollection[Any]:
    database = InboxEntry.get_pymongo_collection().database
    return database[COLLECTION]


async def admit(consumer: str, delivery: Delivery) -> bool:
    """In the bound transaction: True, recording its version, when `delivery` is next;
    False for a duplicate. Raises VersionGapError for a gap."""
    collection = _collection()
    record_id = key(consumer, delivery)
    found = await collection.find_one({"_id": record_id}, {"version": 1})
    last = None if found is None else int(found["version"])
    version = delivery.event.aggregate_version
    match verdict(last, version):
        case Verdict.DUPLICATE:
            return False
        case Verdict.GAP:
            raise VersionGapError(
                f"{delivery.event.aggregate_type} {delivery.event.aggregate_id!r} version"
                f" {version} waits for version {(last or 0) + 1}"
            )
    await collection.update_one(
        {"_id": record_id},
        {"$set": {"version": version, "consumer": consumer}},
        upsert=True,
    )
    return True


async def pass_over(consumer: str, delivery: Delivery, *, policy: RetryPolicy) -> bool:
    """Gives `delivery`'s version to its aggregate without applying it, in a transaction of
    its own; False when it had it already. Raises VersionGapError for a gap."""
    return await run_in_transaction(lambda: admit(consumer, delivery), policy=policy)


async def last_version(consumer: str, delivery: Delivery) -> int | None:
    """The last version applied of `delivery`'s aggregate (None: none yet)."""
    found = await _collection().find_one({"_id": key(consumer, delivery)}, {"version": 1})
    return None if found is None else int(found["version"])
