"""Applies a delivery exactly once: its handler and its inbox entry share one transaction.

The transaction first reads the projection's active generation (`generations.enter`): the
handler writes that generation's collections and the entry goes to that generation's inbox.
"""

from __future__ import annotations

from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from outbox.consumer import generations, inbox
from outbox.consumer.envelope import MAX_MESSAGE_BYTES, Delivery
from outbox.consumer.errors import ConflictingDuplicateError
from outbox.consumer.handlers import Handler, Handlers
from outbox.context import event_context
from outbox.transaction import RetryPolicy, run_in_transaction


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

    A message body over `max_message_bytes` is dead-lettered without being decoded.
    """

    def __init__(
        self,
        name: str,
        handlers: Handlers,
        *,
        policy: RetryPolicy | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.name = name
        self.handlers = handlers
        self.policy = policy or RetryPolicy()
        self.max_message_bytes = max_message_bytes

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
        with event_context(
            correlation_id=delivery.correlation_id or delivery.message_id,
            causation_id=delivery.message_id,
            traceparent=delivery.traceparent,
        ):
            try:
                return await run_in_transaction(
                    lambda: self._apply_once(handler, delivery), policy=self.policy
                )
            except _AlreadySeenError as seen:
                entry = await inbox.find(self.name, delivery.message_id, generation=seen.generation)
                self._check_same_body(entry, delivery)
                return Outcome.DUPLICATE

    async def _apply_once(self, handler: Handler, delivery: Delivery) -> Outcome:
        database = inbox.InboxEntry.get_pymongo_collection().database
        generation = await generations.enter(database, self.name)
        entry = await inbox.find(self.name, delivery.message_id, generation=generation)
        if entry is not None:
            self._check_same_body(entry, delivery)
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
        with generations.bound(generation):
            await handler(delivery)
        return Outcome.PROCESSED

    @staticmethod
    def _check_same_body(entry: inbox.InboxEntry | None, delivery: Delivery) -> None:
        if entry is not None and not entry.matches(delivery.body_sha256):
            raise ConflictingDuplicateError(
                f"message {delivery.message_id} was applied with body sha256 {entry.body_sha256};"
                f" this delivery has {delivery.body_sha256}"
            )
