"""The `outbox_leases` collection: one document per partition, {_id, owner, until, version}.

Every change is a compare-and-set on `version` (which it bumps), so of two relays acting on
the same read, one wins. Changes are replacements, not `$set`: the dev database stores
datetimes given to `$set` as strings.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from outbox.events import PARTITIONS
from relay.members import EPOCH


class LeaseTable:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._leases = database["outbox_leases"]

    async def prepare(self) -> None:
        """Creates the lease documents that do not exist yet."""
        existing = {doc["_id"] for doc in await self._leases.find({}, {"_id": 1}).to_list()}
        for partition in sorted(set(range(PARTITIONS)) - existing):
            with contextlib.suppress(DuplicateKeyError):  # another relay was first
                await self._leases.insert_one(
                    {"_id": partition, "owner": None, "until": EPOCH, "version": 0}
                )

    async def all(self) -> list[dict[str, Any]]:
        return await self._leases.find({}).to_list()

    async def swap(self, versions: dict[int, int], owner: str | None, until: datetime) -> set[int]:
        """Sets owner and until of each partition still at the version read (one bulk write);
        returns the partitions changed."""
        if not versions:
            return set()
        document = {"owner": owner, "until": until}
        result = await self._leases.bulk_write(
            [
                ReplaceOne({"_id": p, "version": v}, {**document, "version": v + 1})
                for p, v in versions.items()
            ],
            ordered=False,
        )
        if result.modified_count == len(versions):
            return set(versions)
        leases = await self._leases.find({"_id": {"$in": list(versions)}}).to_list()
        return {
            lease["_id"]
            for lease in leases
            if lease.get("owner") == owner and lease.get("version") == versions[lease["_id"]] + 1
        }
