"""TTL indexes: expired documents are deleted in the background, at mongod's pace.

mongod's TTL monitor wakes every 60 seconds (`ttlMonitorSleepSecs`) and deletes documents whose
indexed date is older than `expireAfterSeconds`; it promises nothing finer. So does this one.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from devdb.store.collection import Collection
from devdb.store.engine import Blocked, Store, Write


class TtlMonitor:
    def __init__(self, store: Store, interval: float) -> None:
        self.store = store
        self.interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.purge()

    def purge(self) -> int:
        """Deletes every expired document now; returns how many."""
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        deleted = 0
        for database in list(self.store.catalog):
            for collection in list(self.store.catalog[database].values()):
                for index in list(collection.indexes.values()):
                    seconds = index.spec.get("expireAfterSeconds")
                    if isinstance(seconds, int | float) and len(index.keys) == 1:
                        deleted += self._purge(
                            collection, index.keys[0][0], now - datetime.timedelta(seconds=seconds)
                        )
        return deleted

    def _purge(self, collection: Collection, field: str, cutoff: datetime.datetime) -> int:
        expired = [
            (key, doc)
            for key, doc, _ in self.store.documents(collection, None)
            if _expired(doc.get(field), cutoff)
        ]
        txn = self.store.begin_internal()
        staged = 0
        for key, doc in expired:
            write = Write(collection, key, None, None, "delete", doc)
            try:
                self.store.check(write, txn)
            except Blocked:
                continue  # an open transaction holds it: the next round deletes it
            self.store.apply([write], txn)
            staged += 1
        self.store.commit(txn)
        return staged


def _expired(value: Any, cutoff: datetime.datetime) -> bool:
    values = value if isinstance(value, list) else [value]
    dates = [v.replace(tzinfo=None) for v in values if isinstance(v, datetime.datetime)]
    return bool(dates) and min(dates) <= cutoff
