"""What the relay remembers between batches: the aggregates it holds back, and what it published.

Both are owned by the relay loop alone (one task), so they need no locks.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from relay.records import AggregateKey


class Holds:
    """Aggregates whose earliest unpublished event is parked (until None) or backing off."""

    def __init__(self) -> None:
        self._until: dict[AggregateKey, datetime | None] = {}

    def __len__(self) -> int:
        return len(self._until)

    def hold(self, key: AggregateKey, until: datetime | None) -> None:
        self._until[key] = until

    def update(self, holds: dict[AggregateKey, datetime | None]) -> None:
        self._until.update(holds)

    def replace(self, holds: dict[AggregateKey, datetime | None]) -> None:
        self._until = dict(holds)

    def held_ids(self, now: datetime) -> list[str]:
        """The aggregate ids to leave out of the next fetch; holds that ran out are dropped."""
        expired = [key for key, until in self._until.items() if until is not None and until <= now]
        for key in expired:
            del self._until[key]
        return sorted({aggregate_id for _, aggregate_id in self._until})


class LastPublished:
    """The last version this relay published per aggregate (bounded, least recently used out).

    Published is final and every relay publishes an aggregate's versions in order, so "I
    published n-1" proves that n is the aggregate's earliest unpublished event.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._versions: OrderedDict[AggregateKey, int] = OrderedDict()

    def __call__(self, key: AggregateKey) -> int | None:
        return self._versions.get(key)

    def __len__(self) -> int:
        return len(self._versions)

    def remember(self, key: AggregateKey, version: int) -> None:
        if self._versions.get(key, 0) < version:
            self._versions[key] = version
        self._versions.move_to_end(key)
        while len(self._versions) > self._capacity:
            self._versions.popitem(last=False)
