"""The life of a generation being built: begun (or resumed), switched to, and the old one dropped.

Each step that changes the pointer runs inside the caller's bound transaction; creating and
dropping collections runs outside any (MongoDB refuses DDL on existing collections in one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer import inbox
from outbox.consumer.errors import ConsumerError
from outbox.consumer.generations import SHARED_INBOX, Generation, pointers
from outbox.events import utc_now


class RebuildError(ConsumerError):
    """A rebuild cannot go on (its generation was switched or abandoned by another one)."""


@dataclass(frozen=True, slots=True)
class Begun:
    generation: Generation
    resumed: bool


async def begin(database: AsyncDatabase[Any], consumer: str, *, stale_after: timedelta) -> Begun:
    """Marks a new generation as building, or resumes the one a killed rebuild left.

    A leftover younger than `stale_after` is resumed: its inbox says what it holds. An older
    one is abandoned (its inbox entries may have begun to expire) and swept later.
    """
    document = await pointers(database).find_one({"_id": consumer}) or {}
    building = document.get("building")
    since = document.get("building_since")
    if since is not None and since.tzinfo is None:  # a client without tz_aware reads naive UTC
        since = since.replace(tzinfo=UTC)
    if building is not None and since is not None and utc_now() - since < stale_after:
        return Begun(Generation(consumer, int(building)), resumed=True)
    active = int(document.get("active", 0))
    number = max(active, int(building or 0), int(document.get("last_built", 0))) + 1
    await pointers(database).update_one(
        {"_id": consumer},
        {
            "$set": {"building": number, "building_since": utc_now(), "last_built": number},
            "$setOnInsert": {"active": 0},
        },
        upsert=True,
    )
    return Begun(Generation(consumer, number), resumed=False)


async def check_building(database: AsyncDatabase[Any], generation: Generation) -> None:
    """Raises RebuildError unless the pointer (in the bound snapshot) still builds `generation`."""
    document = await pointers(database).find_one({"_id": generation.consumer}) or {}
    if document.get("building") != generation.number:
        raise RebuildError(
            f"generation {generation.number} of {generation.consumer} is no longer being built"
        )


async def switch(database: AsyncDatabase[Any], generation: Generation) -> Generation:
    """Makes `generation` the active one; the generation it replaces, to drop afterwards.

    Written first in the switch's transaction, so that a live consumer writing the pointer
    meanwhile conflicts early (it retries and reads the new generation).
    """
    before = await pointers(database).find_one_and_update(
        {"_id": generation.consumer, "building": generation.number},
        {"$set": {"active": generation.number, "building": None, "switched_at": utc_now()}},
    )
    if before is None:
        raise RebuildError(
            f"generation {generation.number} of {generation.consumer} is no longer being built"
        )
    return Generation(generation.consumer, int(before.get("active", 0)))


async def prepare(
    database: AsyncDatabase[Any],
    generation: Generation,
    *,
    collections: Sequence[str],
    indexes: Mapping[str, Sequence[IndexModel]],
    dedupe_window: timedelta,
) -> None:
    """Creates the generation's collections, their indexes and its inbox's indexes."""
    existing = set(await database.list_collection_names())
    for name in [generation.name(base) for base in collections] + [generation.inbox_name]:
        if name not in existing:
            await database.create_collection(name)
    for base, models in indexes.items():
        if models:
            await generation.collection(database, base).create_indexes(list(models))
    await inbox.create_indexes(generation.inbox(database), dedupe_window)


async def sweep(database: AsyncDatabase[Any], consumer: str, collections: Sequence[str]) -> int:
    """Drops every generation of `consumer` neither active nor building; how many collections.

    Also what is left by a rebuild killed after its switch, or by a straggling transaction.
    """
    document = await pointers(database).find_one({"_id": consumer}) or {}
    keep = {int(document.get("active", 0))}
    if document.get("building") is not None:
        keep.add(int(document["building"]))
    bases = "|".join(re.escape(base) for base in collections)
    pattern = re.compile(rf"^(?:(?:{bases})|inbox_{re.escape(consumer)})_g(\d+)$")
    dropped = 0
    for name in await database.list_collection_names():
        match = pattern.match(name)
        number = int(match.group(1)) if match else (0 if name in collections else None)
        if number is not None and number not in keep:
            await database.drop_collection(name)
            dropped += 1
    if 0 not in keep:
        await database[SHARED_INBOX].delete_many({"consumer": consumer})
    return dropped
