"""The metadata that travels with every event recorded in a context: who caused it, and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import BaseModel, ConfigDict


class EventHeaders(BaseModel):
    """Correlation and tracing data stored with an event and published as message headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None


# EventHeaders is frozen, so one shared default instance is safe.
_headers: ContextVar[EventHeaders] = ContextVar(
    "boundbox_event_headers",
    default=EventHeaders(),  # noqa: B039
)


def current_headers() -> EventHeaders:
    return _headers.get()


@contextmanager
def event_context(
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
) -> Iterator[EventHeaders]:
    """Events recorded inside carry these headers (the HTTP request id, the incoming message id)."""
    token = _headers.set(
        EventHeaders(
            correlation_id=correlation_id, causation_id=causation_id, traceparent=traceparent
        )
    )
    try:
        yield _headers.get()
    finally:
        _headers.reset(token)
