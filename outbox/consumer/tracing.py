"""The consumer's apply span: a child of the trace context the message carries.

One span per delivery, from the trust check to the settlement; its `boundbox.consumer.outcome`
says what became of the message (processed, duplicate, skipped, dead_lettered, requeued).
Events a handler records inside it name it as their trace context. Without an SDK configured
by the process, all of it is the OpenTelemetry API's no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from outbox.tracing import (
    TRACEPARENT,
    context_of,
    message_attributes,
    trace_id_of,
    tracing_off,
)

_tracer = trace.get_tracer("boundbox.consumer")

OUTCOME = "boundbox.consumer.outcome"
DEAD_LETTERED = "dead_lettered"
REQUEUED = "requeued"


def _attributes(message: AbstractIncomingMessage, consumer: str) -> dict[str, str | int]:
    return {
        **message_attributes(
            message.headers,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            event_type=message.type,
            body_size=len(message.body),
        ),
        "messaging.operation.type": "process",
        "messaging.operation.name": "apply",
        "messaging.destination.name": message.exchange or "",
        "messaging.rabbitmq.destination.routing_key": message.routing_key or "",
        "messaging.consumer.group.name": consumer,
    }


@contextmanager
def applying(message: AbstractIncomingMessage, *, consumer: str) -> Iterator[Span]:
    """The span of `consumer`'s handling of `message`, current inside the block."""
    if tracing_off():
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(
        f"apply {consumer}",
        context=context_of((message.headers or {}).get(TRACEPARENT)),
        kind=SpanKind.CONSUMER,
        attributes=_attributes(message, consumer),
    ) as span:
        yield span


def settled(outcome: str, error: str | None = None) -> None:
    """Records on the current apply span what became of the message; dead-lettered fails it."""
    span = trace.get_current_span()
    span.set_attribute(OUTCOME, outcome)
    if outcome == DEAD_LETTERED:
        span.set_status(Status(StatusCode.ERROR, error))


def trace_id(message: AbstractIncomingMessage) -> str:
    """The trace id of a message's handling, for its log lines ("-" when it has none)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return f"{context.trace_id:032x}"
    return trace_id_of((message.headers or {}).get(TRACEPARENT)) or "-"
