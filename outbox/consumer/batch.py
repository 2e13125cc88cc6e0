"""Applies several deliveries in one transaction: one inbox write, one commit for them all.

The deliveries come validated, in delivery order, each with a handler. Those the inbox already
holds (or that came twice in the batch) are duplicates and do not run; the others get their
inbox entries in one `insert_many`, then pass the consumer's guard and run, in order. Any error
aborts the whole transaction, so a batch commits all or nothing: the caller then applies its
deliveries one at a time (`Consumer.apply`), which settles each failure on its own message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from outbox.consumer import generations, inbox
from outbox.consumer.consumer import Consumer, Outcome, check_body
from outbox.consumer.envelope import Delivery
from outbox.consumer.generations import Generation
from outbox.transaction import run_in_transaction

Scope = Callable[[Delivery], AbstractContextManager[object]]
"""What a delivery's own work runs in (the worker makes its message's span current)."""


def _unscoped(delivery: Delivery) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


async def apply_all(
    consumer: Consumer, deliveries: Sequence[Delivery], *, scope: Scope = _unscoped
) -> list[Outcome]:
    """Applies `deliveries` in one retried transaction; their outcomes, in the same order.

    Raises what the transaction raised (nothing of it committed), e.g. ConflictingDuplicateError
    for a seen id with another body, a handler's error, or a duplicate key when a concurrent
    delivery of one of them committed first.
    """
    return await run_in_transaction(
        lambda: _apply_once(consumer, deliveries, scope), policy=consumer.policy
    )


async def _apply_once(
    consumer: Consumer, deliveries: Sequence[Delivery], scope: Scope
) -> list[Outcome]:
    database = inbox.InboxEntry.get_pymongo_collection().database
    generation = await generations.enter(database, consumer.name)
    outcomes, fresh = await _sort_out(consumer, deliveries, generation)
    if fresh:
        # Ordered: a duplicate key stops at once, and the transaction aborts anyway.
        await generation.inbox(database).insert_many(
            [inbox.entry(consumer.name, d.message_id, d.type, d.body_sha256 or None) for d in fresh]
        )
    admitted: list[Delivery] = []
    with generations.bound(generation):
        for index, delivery in enumerate(deliveries):
            if outcomes[index] is not Outcome.PROCESSED:
                continue
            with scope(delivery):
                if consumer.guard is not None and not await consumer.guard(delivery):
                    outcomes[index] = Outcome.DUPLICATE
                    continue
                if consumer.apply_batch is None:
                    handler = consumer.handlers.get(delivery.type)
                    assert handler is not None  # the worker batches only handled types
                    with consumer.context(delivery):
                        await handler(delivery)
                else:
                    admitted.append(delivery)
        if admitted and consumer.apply_batch is not None:
            await consumer.apply_batch(admitted)
    return outcomes


async def _sort_out(
    consumer: Consumer, deliveries: Sequence[Delivery], generation: Generation
) -> tuple[list[Outcome], list[Delivery]]:
    """Each delivery's outcome if it commits (PROCESSED or DUPLICATE), and the fresh ones."""
    database = inbox.InboxEntry.get_pymongo_collection().database
    cursor = generation.inbox(database).find(
        {
            "consumer": consumer.name,
            "message_id": {"$in": sorted({d.message_id for d in deliveries})},
        },
        {"message_id": 1, "body_sha256": 1, "_id": 0},
    )
    # The body each id was applied with: from the inbox, or from its first delivery here.
    recorded: dict[str, str | None] = {
        entry["message_id"]: entry.get("body_sha256") async for entry in cursor
    }
    outcomes: list[Outcome] = []
    fresh: list[Delivery] = []
    for delivery in deliveries:
        if delivery.message_id in recorded:
            check_body(recorded[delivery.message_id], delivery)
            outcomes.append(Outcome.DUPLICATE)
        else:
            recorded[delivery.message_id] = delivery.body_sha256
            fresh.append(delivery)
            outcomes.append(Outcome.PROCESSED)
    return outcomes, fresh
