"""Ordered mode's consumer and worker: the version rule of `outbox.consumer.versions` wired in.

- Every event that reaches an ordered queue is of an aggregate type the consumer handles; one
  of a type without a handler is applied as a no-op, so that it still takes its version.
- The version check is the consumer's guard: it runs in the transaction of each delivery (or
  of each one of a batch), after its inbox entry is written and before its handler.
- A message dead-lettered as poison or after its last delivery takes its version too, first
  (a gap makes it wait its turn instead); one dead-lettered for a gap that never closed does
  not, and neither does an untrusted or unreadable one (its version says nothing).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel
from pymongo.errors import PyMongoError

from outbox.consumer import envelope, tracing, versions
from outbox.consumer.consumer import Consumer
from outbox.consumer.envelope import Delivery
from outbox.consumer.failures import Reason, describe
from outbox.consumer.handlers import Handler, Handlers
from outbox.consumer.versions import Verdict, VersionGapError
from outbox.consumer.worker import Worker

log = logging.getLogger("boundbox.consumer")

GAP_WAIT_SECONDS = 2.0

NEVER_PASSED = (Reason.UNTRUSTED_PUBLISHER, Reason.UNPARSEABLE, Reason.TOO_LARGE)


async def _no_op(delivery: Delivery) -> None:
    """An event of a handled aggregate type but of no handled type: it only takes its version."""


class EveryType(Handlers):
    """`handlers`, and for any other type a no-op: each event of an aggregate is applied."""

    def __init__(self, handlers: Handlers) -> None:
        super().__init__()
        self.handled = handlers

    def add(
        self, event_type: str, handler: Handler, *, payload: type[BaseModel] | None = None
    ) -> None:
        self.handled.add(event_type, handler, payload=payload)

    def get(self, event_type: str) -> Handler:
        return self.handled.get(event_type) or _no_op

    def validate(self, delivery: Delivery) -> Delivery:
        return self.handled.validate(delivery)

    @property
    def types(self) -> tuple[str, ...]:
        return self.handled.types


def ordered(consumer: Consumer) -> Consumer:
    """A copy of `consumer` that applies each aggregate's events in version order, once."""
    if isinstance(consumer.handlers, EveryType):
        return consumer
    result = copy.copy(consumer)
    result.handlers = EveryType(consumer.handlers)
    previous = consumer.guard

    async def guard(delivery: Delivery) -> bool:
        if not await versions.admit(consumer.name, delivery):
            return False
        return previous is None or await previous(delivery)

    result.guard = guard
    if consumer.apply_batch is not None:
        apply_handled = consumer.apply_batch

        async def apply_batch(deliveries: Sequence[Delivery]) -> None:
            handled = [d for d in deliveries if consumer.handlers.get(d.type) is not None]
            if handled:  # the others were only given their versions
                await apply_handled(handled)

        result.apply_batch = apply_batch
    return result


class OrderedWorker(Worker):
    """A worker that lets a gap close before it gives up on a delivery, and whose
    dead-lettered messages still take their aggregate's version."""

    async def finish(self, message: AbstractIncomingMessage, delivery: Delivery) -> None:
        await self._wait_turn(delivery)
        await super().finish(message, delivery)

    async def _wait_turn(self, delivery: Delivery) -> None:
        """Waits up to GAP_WAIT_SECONDS while an earlier version is missing: most often the
        instance that read this queue before is still applying it (a requeue would cost a
        delivery and a backoff)."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + GAP_WAIT_SECONDS, 0.01
        version = delivery.event.aggregate_version
        while True:
            try:
                last = await versions.last_version(self.consumer.name, delivery)
            except PyMongoError:
                return  # applying it meets the same outage, and retries it
            if versions.verdict(last, version) is not Verdict.GAP or loop.time() > deadline:
                return
            if not await self.pause(delay):
                return
            delay = min(delay * 2, 0.2)

    async def discard(
        self, message: AbstractIncomingMessage, reason: Reason, error: BaseException
    ) -> None:
        if isinstance(error, VersionGapError):
            reason = Reason.VERSION_GAP
        elif reason not in NEVER_PASSED and not await self._pass_over(message):
            return
        await super().discard(message, reason, error)

    async def _pass_over(self, message: AbstractIncomingMessage) -> bool:
        """Gives the message's version to its aggregate; False once requeued (a gap before it,
        or MongoDB away: it is judged again on its next delivery)."""
        try:
            delivery = envelope.parse(message, max_bytes=self.consumer.max_message_bytes)
        except Exception:  # unreadable: there is no version to give
            return True
        try:
            await versions.pass_over(self.consumer.name, delivery, policy=self.consumer.policy)
        except Exception as e:  # whatever it is, the message waits in the queue
            log.info(
                "message %s is not dead-lettered yet: %s trace_id=%s",
                delivery.message_id,
                describe(e),
                tracing.trace_id(message),
            )
            await self.pause(self.backoff.delay(delivery.previous_deliveries))
            await self.settle(message, message.nack(requeue=True), "requeue")
            return False
        return True
