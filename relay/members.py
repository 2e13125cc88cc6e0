"""Which relays are alive and want work: one heartbeat document per relay in `outbox_relays`.

Each relay aims at ceil(partitions / live relays) leases, so the heartbeats are how a relay
that just started gets its share: the others count it and give their excess back.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FORGET_AFTER_TTLS = 60  # heartbeats this many TTLs old are deleted


def expiry(document: dict[str, Any]) -> datetime:
    """A heartbeat's or a lease's `until`; the epoch when it is missing or not a datetime."""
    value = document.get("until")
    if not isinstance(value, datetime):
        return EPOCH
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Members:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], *, relay_id: str) -> None:
        self._members = database["outbox_relays"]
        self._id = relay_id

    async def beat(self, *, now: datetime, until: datetime, accepting: bool, ttl: float) -> int:
        """Records this relay's heartbeat; returns how many relays want work (at least 1).

        This relay counts even if its clock runs behind; relays that do not accept work (their
        broker is down) do not count, so the others take everything.
        """
        heartbeat = {
            "_id": self._id,  # in the replacement too: the dev database ignores the filter's
            "until": until,
            "accepting": accepting,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        await self._members.replace_one({"_id": self._id}, heartbeat, upsert=True)
        members = await self._members.find({}).to_list()
        live = [
            member
            for member in members
            if member.get("accepting", True) and (member["_id"] == self._id or expiry(member) > now)
        ]
        forgotten = now - timedelta(seconds=FORGET_AFTER_TTLS * ttl)
        stale = [member["_id"] for member in members if expiry(member) < forgotten]
        if stale:
            await self._members.delete_many({"_id": {"$in": stale}})
        return max(1, len(live))

    async def leave(self) -> None:
        await self._members.delete_one({"_id": self._id})
