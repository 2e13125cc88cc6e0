"""Which instances of an ordered consumer are alive, and which of its queues each one reads.

Each instance heartbeats one document in `consumer_members` of the consumer's database; the
live ones, sorted by id, each take the queues whose index falls to its rank (index modulo the
number of members). Every instance computes the same split from the same table, so a joining
instance gets its share on the others' next heartbeat, and a dead one's queues go to the
survivors once its heartbeat expires. Until then a single-active-consumer queue keeps reading
in order: a queue two instances subscribe to during a handover is read by one of them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from outbox.events import utc_now

COLLECTION = "consumer_members"
FORGET_AFTER = 60  # heartbeats this many expiries old are deleted


@dataclass(frozen=True, slots=True, kw_only=True)
class Ordering:
    """How one instance of an ordered consumer takes part: its id, heartbeat and expiry (s)."""

    member: str
    heartbeat: float = 2.0
    expiry: float = 10.0
    """A member not heard of for this long is gone: the others take its queues."""

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat < self.expiry:
            raise ValueError("an ordered consumer's heartbeat must be shorter than its expiry")


def member_id(name: str = "") -> str:
    """`name` (else host-pid) and a random suffix: unique even if two instances share a name."""
    return f"{name or f'{socket.gethostname()}-{os.getpid()}'}-{uuid.uuid4().hex[:6]}"


def assigned(partitions: int, members: Sequence[str], me: str) -> tuple[int, ...]:
    """The queue indexes `me` reads among `members` (which include it): one in len(members)."""
    ranked = sorted(set(members) | {me})
    rank = ranked.index(me)
    return tuple(index for index in range(partitions) if index % len(ranked) == rank)


def _until(document: dict[str, Any]) -> datetime:
    value = document.get("until")
    if not isinstance(value, datetime):
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Membership:
    """This instance's heartbeat among those of consumer `consumer`."""

    def __init__(
        self,
        database: AsyncDatabase[Any],
        *,
        consumer: str,
        member: str,
        expiry: timedelta,
    ) -> None:
        self._members = database[COLLECTION]
        self.consumer = consumer
        self.member = member
        self.expiry = expiry
        self._id = f"{consumer}/{member}"

    async def beat(self) -> list[str]:
        """Records this instance's heartbeat; the live members' ids (this one always among them)."""
        now = utc_now()
        heartbeat = {  # `_id` in the replacement too: the dev database ignores the filter's
            "_id": self._id,
            "consumer": self.consumer,
            "member": self.member,
            "until": now + self.expiry,
        }
        await self._members.replace_one({"_id": self._id}, heartbeat, upsert=True)
        found = await self._members.find({"consumer": self.consumer}).to_list()
        live = {str(d["member"]) for d in found if _until(d) > now} | {self.member}
        forgotten = now - FORGET_AFTER * self.expiry
        stale = [d["_id"] for d in found if _until(d) < forgotten]
        if stale:
            await self._members.delete_many({"_id": {"$in": stale}})
        return sorted(live)

    async def leave(self) -> None:
        """Removes this instance's heartbeat: the others take its queues on their next one."""
        await self._members.delete_one({"_id": self._id})
