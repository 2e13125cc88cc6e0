"""Retention: MongoDB deletes published events `seconds` after `published_at` (a TTL index).

The index follows the setting: a changed retention changes the index at the next start
(`collMod`; dropped and recreated on a server that ignores `collMod`).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

TTL_KEY = [("published_at", 1)]
TTL_NAME = "published_at_ttl"


async def retention_index(events: AsyncCollection[dict[str, Any]]) -> tuple[str, int | None] | None:
    """The name and expireAfterSeconds of the index on `published_at`, if there is one."""
    for name, spec in (await events.index_information()).items():
        if [(field, int(order)) for field, order in spec["key"]] == TTL_KEY:
            seconds = spec.get("expireAfterSeconds")
            return name, None if seconds is None else int(seconds)
    return None


async def ensure_retention(events: AsyncCollection[dict[str, Any]], seconds: int) -> None:
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
