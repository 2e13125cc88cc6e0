"""A worker's batch: the messages at hand applied in one transaction, acked after its commit.

Each message is first checked on its own (trusted publisher, envelope, payload model): a poison
one never joins the transaction, and is dead-lettered in its turn. The others are applied
together by `batch.apply_all`. Should that transaction fail, nothing of it committed, and the
messages are applied one at a time as without batching, so a failing one is requeued or
dead-lettered on its own and the others are applied once, in order. An outage is retried in
place, as for one message. Every message keeps its own apply span, current while its own work
runs; the batch's shared commands (inbox, commit) run under the span entered last.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry import trace
from opentelemetry.trace import Span

from outbox.consumer import batch, tracing
from outbox.consumer.consumer import Outcome
from outbox.consumer.envelope import Delivery
from outbox.consumer.errors import PoisonMessageError
from outbox.consumer.failures import Kind, Refusal, classify, describe, reason_of

if TYPE_CHECKING:
    from outbox.consumer.worker import Worker

log = logging.getLogger("boundbox.consumer")


@dataclass(frozen=True, slots=True)
class _Item:
    message: AbstractIncomingMessage
    span: Span
    delivery: Delivery
    handled: bool  # the consumer has a handler for its type: it joins the transaction


def current(span: Span) -> AbstractContextManager[object]:
    """`span` current inside the block (nothing to do while tracing is off)."""
    if span is trace.INVALID_SPAN:
        return contextlib.nullcontext()
    return trace.use_span(span, end_on_exit=False)


async def handle(worker: Worker, messages: Sequence[AbstractIncomingMessage]) -> None:
    """Applies and settles `messages` (in delivery order); never raises for a failing message.

    A refused message splits the batch: those before it are applied and settled first, then it
    is dead-lettered, then the rest, so whatever dead-lettering does happens in order too.
    """
    name = worker.consumer.name
    with contextlib.ExitStack() as spans:
        run: list[_Item] = []
        for message in messages:
            span = spans.enter_context(tracing.applying(message, consumer=name))
            with current(span):
                inspected = _inspect(worker, message, span)
            if isinstance(inspected, _Item):
                run.append(inspected)
                continue
            if run:
                await _apply(worker, run)
                run = []
            with current(span):
                await worker.refuse(message, inspected)
        if run:
            await _apply(worker, run)


def _inspect(worker: Worker, message: AbstractIncomingMessage, span: Span) -> _Item | Refusal:
    """The message ready to join the batch, or why it is refused."""
    inspected = worker.inspect(message)
    if isinstance(inspected, Refusal):
        return inspected
    handlers = worker.consumer.handlers
    if handlers.get(inspected.type) is None:
        return _Item(message, span, inspected, handled=False)
    try:
        delivery = handlers.validate(inspected)
    except PoisonMessageError as e:
        return Refusal(reason_of(e), e)
    return _Item(message, span, delivery, handled=True)


async def _apply(worker: Worker, items: list[_Item]) -> None:
    started = time.perf_counter()
    try:
        outcomes = await _commit(worker, items)
    except Exception as e:
        await _one_by_one(worker, items, e)
        return
    if outcomes is None:
        return
    elapsed = time.perf_counter() - started
    if worker.after_commit is not None:  # for every one of them, before any ack
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome is Outcome.PROCESSED:
                worker.after_commit(item.delivery)
    for item, outcome in zip(items, outcomes, strict=True):
        with current(item.span):
            await worker.settle(item.message, item.message.ack(), "ack")
            tracing.settled(outcome.value)
        worker.count(outcome, item.delivery)
        if outcome is Outcome.PROCESSED:
            latency = worker.metrics.latency.labels(worker.consumer.name, item.delivery.type)
            latency.observe(elapsed)


async def _commit(worker: Worker, items: list[_Item]) -> list[Outcome] | None:
    """Each item's outcome once committed, retried in place while MongoDB is unreachable;
    None when the worker stopped meanwhile (every message requeued). Raises any other error."""
    handled = [item for item in items if item.handled]
    spans = {id(item.delivery): item.span for item in handled}

    def scope(delivery: Delivery) -> AbstractContextManager[object]:
        return current(spans[id(delivery)])

    deliveries = [item.delivery for item in handled]
    outages = 0
    while True:
        try:
            applied = (
                await batch.apply_all(worker.consumer, deliveries, scope=scope)
                if deliveries
                else []
            )
        except Exception as e:
            if classify(e) is not Kind.OUTAGE:
                raise
            worker.count_failure(Kind.OUTAGE)
            worker.outage(e)
            if await worker.pause(worker.backoff.delay(outages)):
                outages += 1
                continue
            for item in items:
                with current(item.span):
                    await worker.settle(item.message, item.message.nack(requeue=True), "requeue")
            return None
        worker.recovered()
        outcomes = iter(applied)
        return [next(outcomes) if item.handled else Outcome.SKIPPED for item in items]


async def _one_by_one(worker: Worker, items: list[_Item], error: Exception) -> None:
    """After a failed batch (nothing of it committed): each message on its own, in order."""
    worker.count_failure(classify(error))
    log.info(
        "a batch of %d messages failed (%s): applying them one at a time",
        len(items),
        describe(error),
    )
    for item in items:
        with current(item.span):
            await worker.finish(item.message, item.delivery)
