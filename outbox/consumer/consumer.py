"""Applies a delivery exactly once: its handler and its inbox entry share one transaction.

The transaction first reads the projection's active generation (`generations.enter`): the
handler writes that generation's collections and the entry goes to that generation's inbox.
Several deliveries at hand can share one transaction too: see `outbox.consumer.batch`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from outbox.consumer import generations, inbox
from outbox.consumer.envelope import MAX_MESSAGE_BYTES, Delivery
from outbox.consumer.errors import ConflictingDuplicateError
from outbox.consumer.handlers import Handler, Handlers
from outbox.context import event_context
from outbox.transaction import RetryPolicy, run_in_transaction

BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]
"""Applies validated deliveries in order, in the bound transaction, as their handlers would."""

Guard = Callable[[Delivery], Awaitable[bool]]
"""Runs in the transaction for each delivery its inbox entry is written for, in delivery
order, before it is applied; False records it without applying it (e.g. an aggregate version
already applied); raising fails the transaction like a handler would."""


class Outcome(StrEnum):
    PROCESSED = "processed"  # the handler ran and its transaction committed
    DUPLICATE = "duplicate"  # the inbox already held the message: nothing ran
    SKIPPED = "skipped"  # no handler for the type: nothing ran


class _AlreadySeenError(Exception):
    """A concurrent delivery of the same message committed its inbox entry first."""

    def __init__(self, generation: generations.Generation) -> None:
        super().__init__(generation)
        self.generation = generation


class Consumer:
    """A named set of handlers; the name keys its inbox and names its queue.

    A message body over `max_message_bytes` is dead-lettered without being decoded. Up to
    `batch` deliveries already at hand are applied in one transaction (`outbox.consumer.batch`),
    by `apply_batch` when given (it must have the effect of the handlers one by one, and record
    no events: it runs in no one message's context), else handler by handler.
    """

    def __init__(
        self,
        name: str,
        handlers: Handlers,
        *,
        policy: RetryPolicy | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        batch: int = 1,
        apply_batch: BatchHandler | None = None,
        guard: Guard | None = None,
    ) -> None:
        if not 1 <= batch <= 1000:
            raise ValueError(f"batch must be 1-1000, not {batch}")
        self.name = name
        self.handlers = handlers
        self.policy = policy or RetryPolicy()
        self.max_message_bytes = max_message_bytes
        self.batch = batch
        self.apply_batch = apply_batch
        self.guard = guard

    async def apply(self, delivery: Delivery) -> Outcome:
        """Runs the handler with the inbox entry in one retried transaction, unless seen.

        Events the handler records are caused by this message and keep its correlation id
        (or start a chain at this message when it has none). Raises InvalidPayloadError for a
        payload its type's model refuses, ConflictingDuplicateError for a seen id whose body
        differs from the one applied.
        """
        handler = self.handlers.get(delivery.type)
        if handler is None:
            return Outcome.SKIPPED
        delivery = self.handlers.validate(delivery)
        with self.context(delivery):
            try:
                return await run_in_transaction(
                    lambda: self._apply_once(handler, delivery), policy=self.policy
                )
            except _AlreadySeenError as seen:
                entry = await inbox.find(self.name, delivery.message_id, generation=seen.generation)
                self.check_same_body(entry, delivery)
                return Outcome.DUPLICATE

    async def _apply_once(self, handler: Handler, delivery: Delivery) -> Outcome:
        database = inbox.InboxEntry.get_pymongo_collection().database
        generation = await generations.enter(database, self.name)
        entry = await inbox.find(self.name, delivery.message_id, generation=generation)
        if entry is not None:
            self.check_same_body(entry, delivery)
            return Outcome.DUPLICATE
        try:
            await inbox.remember(
                self.name,
                delivery.message_id,
                delivery.type,
                delivery.body_sha256 or None,
                generation=generation,
            )
        except DuplicateKeyError as e:
            raise _AlreadySeenError(generation) from e
        if self.guard is not None and not await self.guard(delivery):
            return Outcome.DUPLICATE
        with generations.bound(generation):
            await handler(delivery)
        return Outcome.PROCESSED

    def context(self, delivery: Delivery) -> AbstractContextManager[object]:
        """The event context of `delivery`'s handler: what it records is caused by it."""
        return event_context(
            correlation_id=delivery.correlation_id or delivery.message_id,
            causation_id=delivery.message_id,
            traceparent=delivery.traceparent,
        )

    @staticmethod
    def check_same_body(entry: inbox.InboxEntry | None, delivery: Delivery) -> None:
        """Raises ConflictingDuplicateError when `entry` was recorded for another body."""
        if entry is not None:
            check_body(entry.body_sha256, delivery)


def check_body(recorded_sha256: str | None, delivery: Delivery) -> None:
    """Raises ConflictingDuplicateError when `delivery` has another body than the one recorded
    (an entry written before hashes has none, and matches)."""
    if recorded_sha256 and delivery.body_sha256 and recorded_sha256 != delivery.body_sha256:
        raise ConflictingDuplicateError(
            f"message {delivery.message_id} was applied with body sha256 {recorded_sha256};"
            f" this delivery has {delivery.body_sha256}"
        )
