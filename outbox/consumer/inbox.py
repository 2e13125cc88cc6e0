"""The inbox: the ids of the messages a consumer has applied, written in the same transaction.

An entry is unique per (consumer, message id), so a redelivered message finds its entry and
is acknowledged without running its handler again. Entries expire after the dedupe window
(a TTL index on `received_at`): a duplicate older than that would be applied again.

Each generation of a projection has its own inbox (see `outbox.consumer.generations`); the
functions here take the generation, generation 0 (the shared `inbox` collection) by default.

An entry keeps the sha256 of the message's envelope (canonical JSON): a redelivery whose body
differs is not a duplicate but a conflict. Entries written before hashes have none, and match.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from outbox.consumer.generations import Generation
from outbox.events import utc_now

TTL_KEY = [("received_at", pymongo.ASCENDING)]


class InboxEntry(Document):
    """One message a consumer has applied."""

    consumer: str
    message_id: str
    event_type: str
    body_sha256: str | None = None
    received_at: datetime = Field(default_factory=utc_now)

    def matches(self, body_sha256: str) -> bool:
        """False when this entry was recorded for another body than `body_sha256`."""
        return not self.body_sha256 or not body_sha256 or self.body_sha256 == body_sha256

    class Settings:
        name = "inbox"
        indexes = [  # noqa: RUF012  # Beanie reads a plain class attribute
            IndexModel(
                [("consumer", pymongo.ASCENDING), ("message_id", pymongo.ASCENDING)],
                unique=True,
                name="consumer_message_unique",
            ),
        ]


def _collection(generation: Generation | None) -> AsyncCollection[Any]:
    shared: AsyncCollection[Any] = InboxEntry.get_pymongo_collection()
    if generation is None or generation.number == 0:
        return shared
    return generation.inbox(shared.database)


async def find(
    consumer: str, message_id: str, *, generation: Generation | None = None
) -> InboxEntry | None:
    """The entry of `message_id` if `consumer` has already applied it (in the bound session)."""
    found = await _collection(generation).find_one({"consumer": consumer, "message_id": message_id})
    return None if found is None else InboxEntry.model_validate(found)


async def seen(consumer: str, message_id: str, *, generation: Generation | None = None) -> bool:
    """True when `consumer` has already applied `message_id` (in the bound transaction)."""
    return await find(consumer, message_id, generation=generation) is not None


def entry(
    consumer: str, message_id: str, event_type: str, body_sha256: str | None = None
) -> dict[str, Any]:
    """The document of one inbox entry, as `remember` inserts it."""
    return {
        "consumer": consumer,
        "message_id": message_id,
        "event_type": event_type,
        "body_sha256": body_sha256,
        "received_at": utc_now(),
    }


async def remember(
    consumer: str,
    message_id: str,
    event_type: str,
    body_sha256: str | None = None,
    *,
    generation: Generation | None = None,
) -> None:
    """Adds the entry; raises DuplicateKeyError when a concurrent delivery got there first."""
    await _collection(generation).insert_one(entry(consumer, message_id, event_type, body_sha256))


async def create_indexes(collection: AsyncCollection[Any], window: timedelta) -> None:
    """The unique (consumer, message id) index and the TTL index of a generation's inbox."""
    await collection.create_index(
        [("consumer", pymongo.ASCENDING), ("message_id", pymongo.ASCENDING)],
        unique=True,
        name="consumer_message_unique",
    )
    await ensure_ttl(window, collection)


async def ensure_ttl(window: timedelta, collection: AsyncCollection[Any] | None = None) -> None:
    """Creates the TTL index for `window`, or changes the window of the existing one."""
    if collection is None:
        collection = InboxEntry.get_pymongo_collection()
    seconds = int(window.total_seconds())
    for name, spec in (await collection.index_information()).items():
        if list(spec["key"]) == TTL_KEY:
            if spec.get("expireAfterSeconds") == seconds:
                return
            # Dropping and recreating works on every server (the dev database ignores collMod);
            # until it is back, entries merely live a little longer.
            await collection.drop_index(name)
    await collection.create_index(TTL_KEY, expireAfterSeconds=seconds, name="received_at_ttl")
