"""Applies stored events to a generation being built, a chunk per transaction, exactly once.

The chunk's effects and its inbox entries share one transaction, so a rebuild killed at any
point leaves a generation holding exactly the events of its inbox, and a second run skips them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer import generations, inbox, replay
from outbox.consumer.building import check_building
from outbox.consumer.consumer import BatchHandler, Consumer
from outbox.consumer.envelope import Delivery
from outbox.consumer.errors import PoisonMessageError
from outbox.consumer.generations import Generation
from outbox.transaction import run_in_transaction

log = logging.getLogger("boundbox.consumer.rebuild")


@dataclass(frozen=True, slots=True, kw_only=True)
class Projection:
    """What a rebuild needs of a consumer: its handlers, and the collections they write.

    `apply_batch`, when given, applies a whole chunk at once (e.g. summed `$inc`s in one bulk
    write) and must have the effect of the handlers run one by one; else they are. A handler
    must only write the projection's collections: a rebuild replays history.
    """

    consumer: Consumer
    collections: tuple[str, ...]
    apply_batch: BatchHandler | None = None
    indexes: Mapping[str, Sequence[IndexModel]] = field(default_factory=dict)


class Applier:
    """Applies chunks of stored events to `generation`; counts what it applied and refused."""

    def __init__(
        self, projection: Projection, database: AsyncDatabase[Any], generation: Generation
    ) -> None:
        self.projection = projection
        self.database = database
        self.generation = generation
        self.refused: set[str] = set()
        """Ids of stored events that can never be applied (the live consumer dead-letters them)."""

    def deliveries(self, documents: Sequence[Mapping[str, Any]]) -> list[Delivery]:
        """The chunk as validated deliveries; poison ones are refused (logged once)."""
        handlers = self.projection.consumer.handlers
        result = []
        for document in documents:
            try:
                result.append(handlers.validate(replay.delivery_of(document)))
            except PoisonMessageError as e:
                self._refuse(str(document.get("_id")), e)
        return [d for d in result if d.message_id not in self.refused]

    async def apply(self, deliveries: Sequence[Delivery]) -> int:
        """Applies the deliveries in one transaction (event by event if one is poison)."""
        policy = self.projection.consumer.policy
        try:
            return await run_in_transaction(lambda: self.apply_here(deliveries), policy=policy)
        except PoisonMessageError:
            applied = 0
            for delivery in deliveries:
                try:
                    applied += await run_in_transaction(
                        functools.partial(self.apply_here, [delivery]), policy=policy
                    )
                except PoisonMessageError as e:
                    self._refuse(delivery.message_id, e)
            return applied

    async def apply_here(self, deliveries: Sequence[Delivery], *, check: bool = True) -> int:
        """In the bound transaction: applies those not in the generation's inbox; how many."""
        if check:
            await check_building(self.database, self.generation)
        fresh = await self._unseen(deliveries)
        if not fresh:
            return 0
        name = self.projection.consumer.name
        await self.generation.inbox(self.database).insert_many(
            [inbox.entry(name, d.message_id, d.type, d.body_sha256 or None) for d in fresh]
        )
        with generations.bound(self.generation):
            if self.projection.apply_batch is not None:
                await self.projection.apply_batch(fresh)
            else:
                for delivery in fresh:
                    handler = self.projection.consumer.handlers.get(delivery.type)
                    assert handler is not None  # only handled types are read
                    await handler(delivery)
        return len(fresh)

    async def _unseen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        if not deliveries:
            return []
        ids = [d.message_id for d in deliveries]
        cursor = self.generation.inbox(self.database).find(
            {"consumer": self.projection.consumer.name, "message_id": {"$in": ids}},
            {"message_id": 1, "_id": 0},
        )
        seen = {entry["message_id"] async for entry in cursor}
        return [d for d in deliveries if d.message_id not in seen]

    def _refuse(self, message_id: str, error: Exception) -> None:
        if message_id not in self.refused:
            self.refused.add(message_id)
            log.warning("stored event %s is not applied: %s", message_id, error)
