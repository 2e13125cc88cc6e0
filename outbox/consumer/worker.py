"""Settles each message after applying it: ack, requeue after a backoff, or dead-letter.

The ack is sent only after the transaction committed, so a crash in between redelivers the
message, and the inbox makes that redelivery a no-op. Messages are handled in delivery order;
up to `Consumer.batch` of those already at hand share one transaction (`batching`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError

from outbox.consumer import batching, envelope, tracing
from outbox.consumer.consumer import Consumer, Outcome
from outbox.consumer.envelope import Delivery
from outbox.consumer.errors import NotYetError
from outbox.consumer.failures import (
    Backoff,
    Kind,
    Reason,
    Refusal,
    classify,
    dead_letter,
    describe,
    reason_of,
)
from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.trust import TrustedPublishers, UntrustedPublisherError
from outbox.consumer.waiting import pause

log = logging.getLogger("boundbox.consumer")

AfterCommit = Callable[[Delivery], None]
"""Called between the commit and the ack (tests use it to crash exactly there)."""

BROKER_ERRORS = (AMQPError, ChannelInvalidStateError, ConnectionError)


class Worker:
    """Applies and settles `consumer`'s messages in order; stops waiting once `stopping` is set."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        dead_letters: AbstractExchange,
        metrics: ConsumerMetrics,
        max_deliveries: int,
        backoff: Backoff,
        stopping: asyncio.Event,
        after_commit: AfterCommit | None = None,
        trusted: TrustedPublishers | None = None,
    ) -> None:
        self.consumer = consumer
        self.trusted = trusted
        """None trusts every publisher (a broker with one user); a process always sets it."""
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.max_deliveries = max_deliveries
        self.backoff = backoff
        self.stopping = stopping
        self.after_commit = after_commit
        self._in_outage = False

    async def handle(self, message: AbstractIncomingMessage) -> None:
        """Applies and settles `message`, in its apply span; never raises for a failing message."""
        with tracing.applying(message, consumer=self.consumer.name):
            await self._handle(message)

    async def handle_all(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Applies and settles `messages`, in delivery order: several in one transaction."""
        if len(messages) == 1:
            await self.handle(messages[0])
        else:
            await batching.handle(self, messages)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        inspected = self.inspect(message)
        if isinstance(inspected, Refusal):
            await self.refuse(message, inspected)
        else:
            await self.finish(message, inspected)

    def inspect(self, message: AbstractIncomingMessage) -> Delivery | Refusal:
        """`message` parsed, from a trusted publisher; or why it is refused (nothing settled)."""
        try:
            if self.trusted is not None:
                self.trusted.check(message)  # before anything reads what it says
        except UntrustedPublisherError as e:
            return Refusal(Reason.UNTRUSTED_PUBLISHER, e)
        try:
            return envelope.parse(message, max_bytes=self.consumer.max_message_bytes)
        except Exception as e:  # whatever a body holds, it only ever poisons its own message
            return Refusal(reason_of(e, parsing=True), e)

    async def refuse(self, message: AbstractIncomingMessage, refusal: Refusal) -> None:
        """Dead-letters a message refused before it was applied (a poison one)."""
        if refusal.reason is Reason.UNTRUSTED_PUBLISHER:
            log.warning(
                "message %s dead-lettered: %s trace_id=%s",
                message.message_id,
                refusal.error,
                tracing.trace_id(message),
            )
        self.count_failure(Kind.POISON)
        await self.discard(message, refusal.reason, refusal.error)

    async def finish(self, message: AbstractIncomingMessage, delivery: Delivery) -> None:
        """Applies `delivery` in a transaction of its own, then settles `message`."""
        outcome = await self._apply(message, delivery)
        if outcome is None:
            return
        if outcome is Outcome.PROCESSED and self.after_commit is not None:
            self.after_commit(delivery)
        await self.settle(message, message.ack(), "ack")
        tracing.settled(outcome.value)
        self.count(outcome, delivery)

    async def _apply(self, message: AbstractIncomingMessage, delivery: Delivery) -> Outcome | None:
        """The outcome once applied; None when the message was settled as a failure."""
        outages = 0
        while True:
            started = time.perf_counter()
            try:
                outcome = await self.consumer.apply(delivery)
            except Exception as e:
                kind = classify(e)
                self.count_failure(kind)
                if kind is Kind.POISON:
                    await self.discard(message, reason_of(e), e)
                    return None
                if kind is Kind.OUTAGE:
                    self.outage(e)
                    if await self.pause(self.backoff.delay(outages)):
                        outages += 1
                        continue
                    await self.settle(message, message.nack(requeue=True), "requeue")
                    return None
                await self._failed(message, delivery, e)
                return None
            self.recovered()
            if outcome is not Outcome.SKIPPED:
                self.metrics.latency.labels(self.consumer.name, delivery.type).observe(
                    time.perf_counter() - started
                )
            return outcome

    async def _failed(
        self, message: AbstractIncomingMessage, delivery: Delivery, error: Exception
    ) -> None:
        deliveries = delivery.previous_deliveries + 1
        if deliveries >= self.max_deliveries:
            log.error(
                "message %s (%s) failed on delivery %d of %d, dead-lettering it: %s trace_id=%s",
                delivery.message_id,
                delivery.type,
                deliveries,
                self.max_deliveries,
                describe(error),
                tracing.trace_id(message),
            )
            await self.discard(message, Reason.EXHAUSTED, error)
            return
        log.warning(
            "message %s (%s) failed on delivery %d of %d, requeueing it: %s trace_id=%s",
            delivery.message_id,
            delivery.type,
            deliveries,
            self.max_deliveries,
            describe(error),
            tracing.trace_id(message),
            exc_info=None if isinstance(error, NotYetError) else error,  # expected: no trace
        )
        await self.pause(self.backoff.delay(delivery.previous_deliveries))
        await self.settle(message, message.nack(requeue=True), "requeue")

    async def discard(
        self, message: AbstractIncomingMessage, reason: Reason, error: BaseException
    ) -> None:
        copy = dead_letter(
            message, consumer=self.consumer.name, reason=reason, error=describe(error)
        )
        try:
            await self.dead_letters.publish(copy, routing_key=message.routing_key or "")
        except BROKER_ERRORS as e:
            log.error(
                "could not dead-letter message %s, requeueing it: %s trace_id=%s",
                message.message_id,
                e,
                tracing.trace_id(message),
            )
            await self.pause(self.backoff.delay(0))
            await self.settle(message, message.nack(requeue=True), "requeue")
            return
        tracing.settled(tracing.DEAD_LETTERED, f"{reason}: {describe(error)}")
        if reason not in (Reason.EXHAUSTED, Reason.UNTRUSTED_PUBLISHER):  # logged before
            log.error(
                "message %s dead-lettered as %s: %s trace_id=%s",
                message.message_id,
                reason,
                error,
                tracing.trace_id(message),
            )
        await self.settle(message, message.ack(), "ack")
        self.metrics.dead_lettered.labels(self.consumer.name, reason.value).inc()

    async def settle(
        self, message: AbstractIncomingMessage, settling: Awaitable[None], what: str
    ) -> None:
        if what == "requeue":
            tracing.settled(tracing.REQUEUED)
        try:
            await settling
        except BROKER_ERRORS as e:
            # The channel is gone: the broker redelivers the message, and the inbox
            # recognises it if it was applied.
            log.info(
                "could not %s message %s (%s): it will be redelivered trace_id=%s",
                what,
                message.message_id,
                type(e).__name__,
                tracing.trace_id(message),
            )

    async def pause(self, seconds: float) -> bool:
        return await pause(seconds, self.stopping)

    def outage(self, error: Exception) -> None:
        if not self._in_outage:
            self._in_outage = True
            log.warning("MongoDB unreachable, retrying the current message: %s", describe(error))

    def recovered(self) -> None:
        if self._in_outage:
            self._in_outage = False
            log.warning("MongoDB reachable again")

    def count_failure(self, kind: Kind) -> None:
        self.metrics.failures.labels(self.consumer.name, kind.value).inc()

    def count(self, outcome: Outcome, delivery: Delivery) -> None:
        name = self.consumer.name
        match outcome:
            case Outcome.PROCESSED:
                self.metrics.processed.labels(name, delivery.type).inc()
            case Outcome.DUPLICATE:
                self.metrics.duplicates.labels(name).inc()
            case Outcome.SKIPPED:
                self.metrics.skipped.labels(name).inc()
