"""W3C trace context through the outbox, on the OpenTelemetry API only.

Without an SDK configured by the process (its composition root), every call here is a no-op
of the API: nothing is recorded, and the `traceparent` an event carries is the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from outbox.context import EventHeaders

_PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


def tracing_off() -> bool:
    """No SDK is installed in this process: per-message spans are skipped outright.

    Even the no-op API's calls cost tens of microseconds a message, which a relay's throughput
    feels; asking the API for its provider costs microseconds too, so the answer is kept for
    a second while off, and for good once on (a provider, once set, stays).
    """
    global _off, _next_check
    if _off:
        now = time.monotonic()
        if now >= _next_check:
            _off = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            _next_check = now + 1.0
    return _off


_off, _next_check = True, 0.0


def context_of(traceparent: object) -> Context:
    """The trace context named by a `traceparent` value; an empty one when it names none."""
    if not isinstance(traceparent, str):
        return Context()
    return _PROPAGATOR.extract({TRACEPARENT: traceparent})


def traceparent_of(span: Span) -> str | None:
    """`span`'s context as a version-00 `traceparent`, or None when it has none."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def trace_id_of(traceparent: object) -> str | None:
    """The 32 hex digits of the trace a `traceparent` belongs to (for logs), or None."""
    context = trace.get_current_span(context_of(traceparent)).get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def stamped(headers: EventHeaders) -> EventHeaders:
    """`headers` with the current span as their trace context, when a span is current.

    So an event recorded while a request (or a message) is traced names the span that
    recorded it, and the relay's publish span becomes its child.
    """
    traceparent = traceparent_of(trace.get_current_span())
    if traceparent is None or traceparent == headers.traceparent:
        return headers
    return headers.model_copy(update={"traceparent": traceparent})


def message_attributes(
    headers: Mapping[str, Any] | None,
    *,
    message_id: str | None,
    correlation_id: str | None,
    event_type: str | None,
    body_size: int,
) -> dict[str, str | int]:
    """The attributes a span of one event's message shares on both sides of the broker:
    the messaging semantic conventions and the aggregate the event belongs to."""
    attributes: dict[str, str | int] = {
        "messaging.system": "rabbitmq",
        "messaging.message.id": message_id or "",
        "messaging.message.conversation_id": correlation_id or "",
        "messaging.message.body.size": body_size,
        "boundbox.event.type": event_type or "",
    }
    for name in ("aggregate_type", "aggregate_id", "aggregate_version"):
        value = (headers or {}).get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            attributes[f"boundbox.{name.replace('_', '.')}"] = value
    return attributes
