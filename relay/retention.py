"""Retention: by default none, every published event is kept (the outbox is the event store).

With a retention of `seconds`, MongoDB deletes published events that long after `published_at`
(a TTL index). The index follows the setting at every start: a changed retention changes it
(`collMod`; dropped and recreated on a server that ignores `collMod`), and no retention drops
an index an earlier setting or version left, so that nothing is deleted any more.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

log = logging.getLogger("boundbox.relay.retention")
TTL_KEY = [("published_at", 1)]
TTL_NAME = "published_at_ttl"
INDEX_NOT_FOUND = 27


async def retention_index(events: AsyncCollection[dict[str, Any]]) -> tuple[str, int | None] | None:
    """The name and expireAfterSeconds of the index on `published_at`, if there is one."""
    for name, spec in (await events.index_information()).items():
        if [(field, int(order)) for field, order in spec["key"]] == TTL_KEY:
            seconds = spec.get("expireAfterSeconds")
            return name, None if seconds is None else int(seconds)
    return None


async def ensure_retention(events: AsyncCollection[dict[str, Any]], seconds: int | None) -> None:
    """Makes the TTL index match `seconds`; None: no TTL index, every event is kept."""
    if seconds is None:
        await _keep_forever(events)
        return
    for attempt in ("collMod", "recreate", "create"):
        current = await retention_index(events)
        if current is None:
            await events.create_index(TTL_KEY, name=TTL_NAME, expireAfterSeconds=seconds)
            return
        name, current_seconds = current
        if current_seconds == seconds:
            return
        if attempt == "collMod":
            index = {"name": name, "expireAfterSeconds": seconds}
            await events.database.command({"collMod": events.name, "index": index})
        elif attempt == "recreate":
            await events.drop_index(name)


async def _keep_forever(events: AsyncCollection[dict[str, Any]]) -> None:
    current = await retention_index(events)
    if current is None or current[1] is None:
        return  # no index on `published_at`, or one that deletes nothing
    try:
        await events.drop_index(current[0])
    except OperationFailure as e:
        if e.code != INDEX_NOT_FOUND:
            raise
        return  # another relay starting at the same time dropped it
    log.info(
        "retention off: dropped TTL index %s (published events were deleted after %d s); "
        "every published event is now kept",
        current[0],
        current[1],
    )
