"""Rebuilding a projection from the event store, while the live consumer keeps serving.

`await Rebuild(projection, database=..., events=..., dedupe_window=...).run()` builds a new
generation (see `outbox.consumer.generations`) from every stored event of the handled types,
whatever its status, switches readers and the live consumer to it, and drops the old one:

1. begin: the pointer's `building` names the new generation (or a leftover one is resumed);
2. bulk pass: all events, per-aggregate version order, a chunk per transaction with its
   entries in the new generation's inbox (`outbox.consumer.applying`);
3. catch-up passes over the events that occurred since the previous pass began, less a safety
   window W (2 minutes) longer than any transaction (MongoDB aborts them at 60 s) plus clock
   skew, skipping what the new inbox holds, until a pass finds little new;
4. the switch: ONE transaction writes the pointer (active = new), then applies the events of
   the last window not yet in the new inbox, and commits;
5. the old generation's collections are dropped.

Why no event is lost or applied twice, under snapshot isolation (MongoDB's, and the dev
database's). Let F be the switch's transaction, s its snapshot and c its commit, and E any
stored event of a handled type, committed by the shop's transaction at time t(E).

- t(E) < s: E is in F's snapshot. A pass that began at time p saw every event committed
  before p; one it missed committed after p, in a transaction that began at most 60 s before
  its commit and set occurred_at inside it, so occurred_at >= p - 60 s >= p - W (W also
  absorbs clock skew between writers and the rebuild). Hence E is either in the new inbox
  (applied by a committed pass: F sees that entry and skips E) or within F's window, which
  starts at the last pass's p - W: F applies it.
- t(E) > s: no pass and not F has seen E, so only the live consumer can apply it, in its
  transaction L, begun after t(E) (the relay publishes committed events only), so after s.
  The rebuild's `building` was committed before any pass began, so L reads it and writes the
  pointer (`generations.enter`). If c precedes L's snapshot, L reads active = new and applies
  E to the new generation, deduplicated by its inbox. Otherwise L and F are concurrent and
  both write the pointer: one of them fails with a write conflict and retries, and a retry
  starts after the other's commit. If F retried, its new snapshot holds E: case one. If L
  retried, it reads active = new: as above. A live transaction that read no `building` began
  before the rebuild did, and the events it applies were committed before that: case one.
- Applying to the new generation is exactly-once by its inbox: each chunk, F, and the live
  consumer insert E's entry in the transaction that applies E, under a unique index.

So from c on, the new generation holds every event committed before c exactly once, and the
live consumer applies every later one to it. Readers read the pointer per request, outside
any transaction: before c they see the old generation, which the live consumer keeps
current; a read that meets a generation dropped under it reads the pointer again. (A live
transaction that read no `building` and stayed open through the whole rebuild could still
write the old collections after their drop; the next rebuild's sweep drops what it wrote.)

A rebuild killed at any point leaves either the building generation, resumed by the next run
(its inbox holds exactly what its collections reflect), or, after the switch, an old
generation that the next run drops. Order: a pass reads in (aggregate, version) order, and
an aggregate's version n+1 is recorded after version n committed, so a pass that sees n+1
sees n (in one pass or an earlier one) on a server that reads a pass at one point in time
(the dev database); on MongoDB a pass's cursor is not a snapshot, so a version committed
while the bulk cursor is past it is applied by the next pass, after its successor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer import building, replay
from outbox.consumer.applying import Applier, Projection
from outbox.consumer.errors import PoisonMessageError
from outbox.consumer.generations import Generation
from outbox.consumer.progress import Progress
from outbox.events import utc_now
from outbox.transaction import run_in_transaction

SAFETY_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a rebuild did: `events` stored, `applied` by this run, `refused` as poison."""

    consumer: str
    generation: int
    previous: int
    events: int
    applied: int
    refused: int
    passes: int
    seconds: float
    resumed: bool

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class Rebuild:
    """One rebuild of `projection` in `database` from the event store `events`."""

    def __init__(
        self,
        projection: Projection,
        *,
        database: AsyncDatabase[Any],
        events: AsyncCollection[Any],
        dedupe_window: timedelta,
        progress: Progress | None = None,
        chunk_size: int = 500,
        safety_window: timedelta = SAFETY_WINDOW,
        max_passes: int = 5,
    ) -> None:
        self.projection = projection
        self.name = projection.consumer.name
        self.database = database
        self.events = events
        self.dedupe_window = dedupe_window
        self.progress = progress or Progress()
        self.chunk_size = chunk_size
        self.window = safety_window
        self.max_passes = max_passes
        self.types = projection.consumer.handlers.types

    async def run(self) -> Summary:
        started = time.monotonic()
        await building.sweep(self.database, self.name, self.projection.collections)
        begun = await run_in_transaction(
            lambda: building.begin(self.database, self.name, stale_after=self.dedupe_window / 2),
            policy=self.projection.consumer.policy,
        )
        generation = begun.generation
        await building.sweep(self.database, self.name, self.projection.collections)
        await building.prepare(
            self.database,
            generation,
            collections=self.projection.collections,
            indexes=self.projection.indexes,
            dedupe_window=self.dedupe_window,
        )
        applier = Applier(self.projection, self.database, generation)
        label = f"rebuild {self.name} g{generation.number}"
        began = utc_now()
        events, applied = await self._pass(applier, f"{label} bulk", None)
        passes = 1
        while True:
            since, began = began - self.window, utc_now()
            _, fresh = await self._pass(applier, f"{label} catch-up {passes}", since)
            applied, passes = applied + fresh, passes + 1
            if fresh <= self.chunk_size or passes > self.max_passes:
                try:
                    previous, fresh = await self._switch(applier, began - self.window)
                except PoisonMessageError:
                    continue  # refused by the next pass, which reads it again
                break
        await building.sweep(self.database, self.name, self.projection.collections)
        return Summary(
            consumer=self.name,
            generation=generation.number,
            previous=previous.number,
            events=events,
            applied=applied + fresh,
            refused=len(applier.refused),
            passes=passes,
            seconds=time.monotonic() - started,
            resumed=begun.resumed,
        )

    async def _pass(self, applier: Applier, label: str, since: datetime | None) -> tuple[int, int]:
        """Applies the events of the pass; (events read, events newly applied)."""
        self.progress.start(label, await replay.count(self.events, self.types, since))
        read = applied = 0
        async for chunk in replay.chunks(
            self.events, self.types, since=since, size=self.chunk_size
        ):
            applied += await applier.apply(applier.deliveries(chunk))
            read += len(chunk)
            self.progress.advance(len(chunk))
        self.progress.finish()
        return read, applied

    async def _switch(self, applier: Applier, since: datetime) -> tuple[Generation, int]:
        """The switch's one transaction; (the previous generation, events it applied)."""

        async def flip() -> tuple[Generation, int]:
            previous = await building.switch(self.database, applier.generation)
            applied = 0
            async for chunk in replay.chunks(
                self.events, self.types, since=since, size=self.chunk_size
            ):
                applied += await applier.apply_here(applier.deliveries(chunk), check=False)
            return previous, applied

        return await run_in_transaction(flip, policy=self.projection.consumer.policy)
