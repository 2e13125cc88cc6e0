"""Where the next batch comes from: the leased partitions' oldest pending events, planned.

The source keeps what the relay remembers between batches (holds, last published versions)
and can read the next batch while the previous one is still being published: the aggregates
in flight are left out, so an aggregate is never in two batches at once.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from outbox.events import utc_now
from relay.leases import LeaseKeeper
from relay.plan import Document, Plan, plan
from relay.records import AggregateKey
from relay.state import Holds, LastPublished
from relay.store import OutboxStore

HOLD_REFRESH_SECONDS = 2.0  # how soon `outbox retry-failed` takes effect


@dataclass(frozen=True, slots=True)
class Batch:
    plan: Plan
    fetched: int
    """Documents read: a full read means more are waiting."""
    read_at: datetime
    started: float

    @property
    def aggregate_ids(self) -> set[str]:
        return {chain.key[1] for chain in self.plan.chains}


class BatchSource:
    def __init__(
        self, store: OutboxStore, leases: LeaseKeeper, *, limit: int, user_id: str | None = None
    ) -> None:
        self._store = store
        self._user_id = user_id
        self._leases = leases
        self.limit = limit
        self.holds = Holds()
        self.published = LastPublished()
        self._active: frozenset[int] = frozenset()
        self._next_refresh = 0.0

    async def next(self, *, in_flight: Collection[str] = ()) -> Batch | None:
        """The next batch to publish, or None when nothing is pending (or nothing is leased)."""
        partitions = self._leases.partitions()
        await self._sync_holds(partitions)
        if not partitions:
            return None
        now, started = utc_now(), time.perf_counter()
        excluded = sorted(set(self.holds.held_ids(now)) | set(in_flight))
        fetched = await self._store.pending(
            sorted(partitions), excluding=excluded, limit=self.limit
        )
        if not fetched:
            return None
        batch = self._plan(fetched, None, now)
        if batch.unverified:
            predecessors = await self._store.unpublished(sorted(batch.unverified))
            batch = self._plan(fetched, predecessors, now)
        self.holds.update(batch.holds)
        return Batch(plan=batch, fetched=len(fetched), read_at=now, started=started)

    def _plan(
        self,
        fetched: Sequence[Document],
        predecessors: dict[AggregateKey, list[Document]] | None,
        now: datetime,
    ) -> Plan:
        return plan(
            fetched,
            predecessors=predecessors,
            last_published=self.published,
            now=now,
            max_items=self.limit,  # predecessors included: a half never exceeds its limit
            user_id=self._user_id,
        )

    async def _sync_holds(self, partitions: frozenset[int]) -> None:
        """Loads the holds of newly leased partitions, and refreshes all of them now and then."""
        if partitions and time.monotonic() >= self._next_refresh:
            self.holds.replace(await self._store.blocked(sorted(partitions)))
            self._next_refresh = time.monotonic() + HOLD_REFRESH_SECONDS
        elif new := partitions - self._active:
            self.holds.update(await self._store.blocked(sorted(new)))
        self._active = partitions
