"""The OpenTelemetry SDK side of `boundbox.telemetry` (the `boundbox[otel]` extra).

Imported only when tracing is on, so a process without the extra never needs the SDK.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    _get_from_env_or_default,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes


def provider(service_name: str, *, spans_file: str | None, otlp: bool) -> TracerProvider:
    """A provider for `service_name` exporting over OTLP/HTTP (the OTEL_EXPORTER_OTLP_*
    variables) and/or to `spans_file`, sampled as OTEL_TRACES_SAMPLER says."""
    result = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=NoRootClientSpans(_get_from_env_or_default()),
    )
    if spans_file:
        result.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(spans_file)))
    if otlp:
        result.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return result


class NoRootClientSpans(Sampler):
    """Drops a client span that starts a trace (a relay's poll, a lease renewal, a health
    check's ping): MongoDB commands are traced inside a request or a message, not alone."""

    def __init__(self, delegate: Sampler) -> None:
        self._delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoRootClientSpans{{{self._delegate.get_description()}}}"


class JsonLinesExporter(SpanExporter):
    """Writes each finished span as one JSON line (BOUNDBOX_TRACES_FILE: what tests read)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open until shutdown)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                self._file.write(json.dumps(span_record(span), default=str) + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None  # a finished SDK span always has one
    return {
        "service": span.resource.attributes.get(SERVICE_NAME),
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "start": span.start_time,
        "end": span.end_time,
    }
