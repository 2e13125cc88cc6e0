"""The publishing loop: batches back to back while there is work, then wait for more.

At least once: events are marked published only after their confirms. A batch is published
in two halves that alternate: while one half is being published, the other (already
confirmed) is marked and, at the same time, the next half is read, so a crash republishes at
most one batch (`batch_size` events). An aggregate is never in two unmarked halves at once.
A refused event counts an attempt and waits (exponential backoff) with its aggregate held
back; after `max_attempts` it is parked as failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from relay.batches import Batch, BatchSource
from relay.broker import Broker
from relay.errors import DatabaseUnavailableError
from relay.health import Backoff
from relay.leases import LeaseKeeper
from relay.metrics import Metrics
from relay.plan import Item
from relay.publisher import Outcome, publish_batch
from relay.store import OutboxStore, Published
from relay.tracing import trace_id
from relay.wakeup import Waker

log = logging.getLogger("boundbox.relay")
MARK_ATTEMPTS = 5


class Relay:
    def __init__(
        self,
        *,
        store: OutboxStore,
        broker: Broker,
        leases: LeaseKeeper,
        waker: Waker,
        metrics: Metrics,
        batch_size: int,
        max_attempts: int,
        retry_backoff: float,
        retry_backoff_max: float,
        publish_timeout: float,
        user_id: str | None = None,
    ) -> None:
        self._store, self._broker, self._leases = store, broker, leases
        self._waker, self._metrics = waker, metrics
        # Two halves of a batch are unmarked at most: one being marked, one being published.
        self._source = BatchSource(store, leases, limit=max(1, batch_size // 2), user_id=user_id)
        self._max_attempts = max_attempts
        self._retry_backoff, self._retry_backoff_max = retry_backoff, retry_backoff_max
        self._publish_timeout = publish_timeout

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until `stop`; the batch in flight is finished and marked first."""
        backoff = Backoff(first=0.1, ceiling=5.0)
        while not stop.is_set():
            if not await self._broker.ensure(stop):
                break
            try:
                async with self._leases.batch_lock:
                    busy = await self.drain(stop)
            except DatabaseUnavailableError:
                await backoff.sleep(stop)  # the store reported the outage
                continue
            backoff.reset()
            if not busy and not stop.is_set():
                await self._waker.wait()

    async def drain(self, stop: asyncio.Event) -> bool:
        """Half-batches back to back while reads come back full; True if more may be waiting.

        While half n is being published, half n-1 is marked and half n+1 is read, both at
        once; the read leaves out the aggregates of n and n-1, whose events are still pending
        in the database. If the database fails meanwhile, the unmarked halves are simply
        published again later.
        """
        half = await self._source.next()
        previous: tuple[Batch, Outcome] | None = None
        more = False
        while half is not None:
            more = half.fetched >= self._source.limit and half.plan.size > 0
            chains, orphans = half.plan.chains, half.plan.orphans
            publishing = asyncio.create_task(
                publish_batch(self._broker, chains, orphans, within=self._publish_timeout)
            )
            following: Batch | None = None
            try:
                read_on = more and not self._pausing(stop)
                unmarked = half.aggregate_ids | (previous[0].aggregate_ids if previous else set())
                following = await self._settle_and_read(previous, unmarked if read_on else None)
                previous = None
            finally:
                outcome = await publishing
            previous = (half, outcome)
            half = None if outcome.interrupted else following
        if previous is not None:
            await self._settle(*previous)
        return more and not stop.is_set()

    async def _settle_and_read(
        self, previous: tuple[Batch, Outcome] | None, excluding: set[str] | None
    ) -> Batch | None:
        """Settles `previous` and reads the next half without `excluding` (None: no read).

        The mark and the read run at once; the first failure cancels the other and is raised
        as it is. Refused events are recorded afterwards: the holds they add must not race
        the read's refresh of the holds from the database.
        """
        try:
            async with asyncio.TaskGroup() as tasks:
                if previous is not None:
                    tasks.create_task(self._settle_confirmed(previous[1]))
                reading = None
                if excluding is not None:
                    reading = tasks.create_task(self._source.next(in_flight=excluding))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None  # as if run alone: the run loop catches it
        if previous is not None:
            await self._settle_refused(*previous)
        return None if reading is None else reading.result()

    def _pausing(self, stop: asyncio.Event) -> bool:
        """Time to let the lease keeper in (or to stop): no reading ahead then."""
        return stop.is_set() or self._leases.release_pending

    async def _settle(self, half: Batch, outcome: Outcome) -> None:
        await self._settle_confirmed(outcome)
        await self._settle_refused(half, outcome)

    async def _settle_confirmed(self, outcome: Outcome) -> None:
        if outcome.published:
            await self._mark(outcome.published)
            for published in outcome.published:
                self._source.published.remember(published.key, published.last)
            self._metrics.published.inc(outcome.confirmed)

    async def _settle_refused(self, half: Batch, outcome: Outcome) -> None:
        for item, error in outcome.refused:
            await self._fail(item, error, half.read_at)
        if outcome.interrupted:
            self._metrics.failures.labels(reason="broker").inc()
        self._metrics.batch_seconds.observe(time.perf_counter() - half.started)

    async def _mark(self, published: list[Published]) -> None:
        """Marks confirmed events; retried, since failing here means duplicates later."""
        backoff = Backoff(first=0.1, ceiling=2.0)
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                await self._store.mark_published(published)
                return
            except DatabaseUnavailableError:
                if attempt == MARK_ATTEMPTS:
                    raise
                await asyncio.sleep(backoff.next_delay())

    async def _fail(self, item: Item, error: str, now: datetime) -> None:
        attempts = item.ref.attempts + 1
        park = attempts >= self._max_attempts
        delay = min(self._retry_backoff_max, self._retry_backoff * 2 ** (attempts - 1))
        retry_at = now + timedelta(seconds=delay)
        await self._store.record_failure(
            item.document, item.ref, error=error, retry_at=retry_at, park=park
        )
        if item.ref.version is not None:
            self._source.holds.hold(item.ref.key, None if park else retry_at)
        reason = "unpublishable" if item.outgoing is None else "refused"
        self._metrics.failures.labels(reason=reason).inc()
        if park:
            self._metrics.parked.inc()
        log.warning(
            "event %s aggregate=%s:%s version=%s attempts=%d error=%r trace_id=%s",
            "parked as failed" if park else f"failed, retry in {delay:g}s",
            *item.ref.key,
            item.ref.version,
            attempts,
            error,
            trace_id(item.document),
        )
