"""TTL deletion at mongod's pace, instead of the engine's full scan on every read.

The engine enforces TTL indexes by scanning the whole collection before every `find` on it,
which makes each read of a large TTL-indexed collection (the outbox, an inbox) cost a scan.
mongod deletes expired documents in the background, once every 60 seconds
(`ttlMonitorSleepSecs`), and promises no more than that. This module paces the engine's purge
the same way: at most once per interval for each collection.
"""

from __future__ import annotations

import math
import time
from typing import Any

from neosqlite.collection import Collection

_original = Collection._auto_purge_ttl


def pace_ttl_purges(interval: float) -> None:
    """Purges expired documents of a collection at most once every `interval` seconds."""
    last: dict[tuple[int, str], float] = {}

    def paced(collection: Any) -> None:
        key = (id(collection.database), str(collection.name))
        now = time.monotonic()
        if now - last.get(key, -math.inf) < interval:
            return
        last[key] = now
        _original(collection)

    Collection._auto_purge_ttl = paced
