"""Partition leases: which relay publishes which of the outbox's partitions.

`outbox_leases` holds one document per partition, {_id, owner, until, version}. A relay claims
free or expired leases with a compare-and-set on `version`, renews its own (bumping `version`,
so a claim based on an older read fails), gives its excess back (see `relay.members`) and
releases all on shutdown; a dead relay's share is taken over once its leases expire (`ttl`).
Expiry compares the wall clocks of different hosts: keep them in sync.
A relay publishes a partition only until its local deadline (80% of the TTL after the renewal
started), and the loop holds `batch_lock` while events are in flight, so a release never
happens under a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from outbox.events import PARTITIONS, utc_now
from relay.errors import DatabaseUnavailableError
from relay.health import Dependency, wait_for_event
from relay.lease_table import LeaseTable
from relay.members import EPOCH, Members, expiry
from relay.mongo import translated

log = logging.getLogger("boundbox.relay.leases")
LOCAL_SHARE = 0.8  # of the TTL: stop publishing well before the lease can expire elsewhere


class LeaseKeeper:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        *,
        relay_id: str,
        ttl: float,
        database_state: Dependency,
        on_change: Callable[[int], None] = lambda held: None,
        accepting: Callable[[], bool] = lambda: True,
    ) -> None:
        self._leases = LeaseTable(database)
        self._members = Members(database, relay_id=relay_id)
        self._id = relay_id
        self._ttl = ttl
        self._state = database_state
        self._on_change = on_change
        self._accepting = accepting
        self._held: dict[int, _Lease] = {}
        self.batch_lock = asyncio.Lock()
        self.release_pending = False
        """True while a release waits for `batch_lock`: the loop then stops reading ahead."""

    def _deadline(self, renewal_started: float) -> float:
        """Until when (monotonic) this relay may publish a partition it renewed or claimed."""
        return renewal_started + LOCAL_SHARE * self._ttl

    def partitions(self) -> frozenset[int]:
        """The partitions this relay may publish right now."""
        now = time.monotonic()
        return frozenset(p for p, lease in self._held.items() if lease.deadline > now)

    async def prepare(self) -> None:
        """Creates the lease documents that do not exist yet (one per partition)."""
        async with translated(self._state):
            await self._leases.prepare()

    async def run(self, stop: asyncio.Event) -> None:
        """Renews, claims and rebalances every third of the TTL until `stop` (see release_all)."""
        while not stop.is_set():
            with contextlib.suppress(DatabaseUnavailableError):  # reported to the state
                await self.round()
            self._on_change(len(self.partitions()))  # leases run out while renewals fail
            await wait_for_event(stop, self._ttl / 3)

    async def round(self) -> None:
        started, now = time.monotonic(), utc_now()
        until = now + timedelta(seconds=self._ttl)
        async with translated(self._state):
            accepting = self._accepting()
            live = await self._members.beat(
                now=now, until=until, accepting=accepting, ttl=self._ttl
            )
            target = math.ceil(PARTITIONS / live) if accepting else 0
            await self._renew(until, started)
            if len(self._held) < target:
                await self._claim(now, until, started, target - len(self._held))
            elif len(self._held) > target:
                await self.release(random.sample(sorted(self._held), len(self._held) - target))

    async def _renew(self, until: datetime, started: float) -> None:
        versions = {partition: lease.version for partition, lease in self._held.items()}
        renewed = await self._leases.swap(versions, self._id, until)
        lost = sorted(set(versions) - renewed)
        self._held = {p: _Lease(versions[p] + 1, self._deadline(started)) for p in renewed}
        if lost:
            log.warning("leases lost partitions=%s (taken over after expiry)", lost)

    async def _claim(self, now: datetime, until: datetime, started: float, wanted: int) -> None:
        leases = await self._leases.all()
        free = [
            lease
            for lease in leases
            if lease["_id"] not in self._held
            and (lease.get("owner") is None or expiry(lease) <= now)
        ]
        chosen = random.sample(free, min(wanted, len(free)))
        versions = {lease["_id"]: int(lease.get("version", 0)) for lease in chosen}
        claimed = await self._leases.swap(versions, self._id, until)
        for partition in claimed:
            self._held[partition] = _Lease(versions[partition] + 1, self._deadline(started))
        if claimed:
            log.info("leases claimed partitions=%s held=%d", sorted(claimed), len(self._held))

    async def release(self, partitions: list[int]) -> None:
        """Gives leases back, once no batch is in flight."""
        if not partitions:
            return
        self.release_pending = True
        try:
            await self.batch_lock.acquire()
        finally:
            self.release_pending = False
        try:
            leases = {p: self._held.pop(p) for p in partitions if p in self._held}
            async with translated(self._state):
                await self._leases.swap({p: v.version for p, v in leases.items()}, None, EPOCH)
        finally:
            self.batch_lock.release()
        log.info("leases released partitions=%s held=%d", sorted(partitions), len(self._held))
        self._on_change(len(self._held))

    async def release_all(self) -> None:
        """On shutdown: every lease back, and this relay's heartbeat gone."""
        await self.release(sorted(self._held))
        async with translated(self._state):
            await self._members.leave()


@dataclass(frozen=True, slots=True)
class _Lease:
    """A lease this relay holds: the version it wrote, and its local deadline to publish."""

    version: int
    deadline: float
