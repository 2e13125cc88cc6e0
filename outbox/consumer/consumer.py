"""Applies a delivery exactly once: its handler and its inbox entry share one transaction."""

from __future__ import annotations

from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from outbox.consumer import inbox
from outbox.consumer.envelope import Delivery
from outbox.consumer.handlers import Handler, Handlers
from outbox.context import event_context
from outbox.transaction import RetryPolicy, run_in_transaction


class Outcome(StrEnum):
    PROCESSED = "processed"  # the handler ran and its transaction committed
    DUPLICATE = "duplicate"  # the inbox already held the message: nothing ran
    SKIPPED = "skipped"  # no handler for the type: nothing ran


class _AlreadySeenError(Exception):
    """A concurrent delivery of the same message committed its inbox entry first."""


class Consumer:
    """A named set of handlers; the name keys its inbox and names its queue."""

    def __init__(self, name: str, handlers: Handlers, *, policy: RetryPolicy | None = None) -> None:
        self.name = name
        self.handlers = handlers
        self.policy = policy or RetryPolicy()

    async def apply(self, delivery: Delivery) -> Outcome:
        """Runs the handler with the inbox entry in one retried transaction, unless seen.

        Events the handler records are caused by this message and keep its correlation id
        (or start a chain at this message when it has none).
        """
        handler = self.handlers.get(delivery.type)
        if handler is None:
            return Outcome.SKIPPED
        with event_context(
            correlation_id=delivery.correlation_id or delivery.message_id,
            causation_id=delivery.message_id,
            traceparent=delivery.traceparent,
        ):
            try:
                return await run_in_transaction(
                    lambda: self._apply_once(handler, delivery), policy=self.policy
                )
            except _AlreadySeenError:
                return Outcome.DUPLICATE

    async def _apply_once(self, handler: Handler, delivery: Delivery) -> Outcome:
        if await inbox.seen(self.name, delivery.message_id):
            return Outcome.DUPLICATE
        try:
            await inbox.remember(self.name, delivery.message_id, delivery.type)
        except DuplicateKeyError as e:
            raise _AlreadySeenError from e
        await handler(delivery)
        return Outcome.PROCESSED
