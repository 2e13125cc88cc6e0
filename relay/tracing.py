"""The relay's publish span: a child of the trace context stored with the event.

The span is the producer span of OpenTelemetry's messaging conventions; when it records, the
message carries *its* context as `traceparent`, so the consumer's span is the publish span's
child, in the trace of the request that recorded the event. Without an SDK configured, the
message is sent exactly as built.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from outbox.tracing import (
    TRACEPARENT,
    context_of,
    message_attributes,
    trace_id_of,
    traceparent_of,
    tracing_off,
)
from relay.messages import Outgoing

_tracer = trace.get_tracer("boundbox.relay")


def event_attributes(outgoing: Outgoing, *, exchange: str) -> dict[str, str | int]:
    properties = outgoing.properties
    return {
        **message_attributes(
            properties.headers,
            message_id=properties.message_id,
            correlation_id=properties.correlation_id,
            event_type=properties.message_type,
            body_size=len(outgoing.body),
        ),
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": exchange,
        "messaging.rabbitmq.destination.routing_key": outgoing.routing_key,
    }


def publishing(outgoing: Outgoing, *, exchange: str) -> AbstractContextManager[Outgoing]:
    """Spans the publish of `outgoing` (confirm included); gives the message to send.

    An exception leaving the block marks the span as failed, and is raised on.
    """
    if tracing_off():
        return nullcontext(outgoing)
    return _publishing(outgoing, exchange=exchange)


@contextmanager
def _publishing(outgoing: Outgoing, *, exchange: str) -> Iterator[Outgoing]:
    stored = (outgoing.properties.headers or {}).get(TRACEPARENT)
    with _tracer.start_as_current_span(
        f"publish {exchange}",
        context=context_of(stored),
        kind=SpanKind.PRODUCER,
        attributes=event_attributes(outgoing, exchange=exchange),
    ) as span:
        traceparent = traceparent_of(span) if span.is_recording() else None
        yield outgoing if traceparent is None else with_traceparent(outgoing, traceparent)


def with_traceparent(outgoing: Outgoing, traceparent: str) -> Outgoing:
    properties = copy.copy(outgoing.properties)
    properties.headers = {**(properties.headers or {}), TRACEPARENT: traceparent}
    return dataclasses.replace(outgoing, properties=properties)


def trace_id(document: Mapping[str, Any]) -> str:
    """The trace id stored with an outbox document, for its log lines ("-" when none)."""
    headers = document.get("headers")
    stored = headers.get(TRACEPARENT) if isinstance(headers, Mapping) else None
    return trace_id_of(stored) or "-"
