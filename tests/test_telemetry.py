"""Which OTEL_* environments turn tracing on, and what the library does with tracing off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from boundbox import telemetry
from outbox.context import EventHeaders
from outbox.tracing import context_of, stamped, trace_id_of
from relay.messages import build
from relay.records import StoredEvent
from relay.tracing import publishing

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),  # a name alone sends nothing anywhere
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
        ({telemetry.SPANS_FILE: "/tmp/spans.jsonl"}, True),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_named(environ: dict[str, str], on: bool) -> None:
    assert telemetry.enabled(environ) is on
    assert (telemetry.provider_from("boundbox-api", environ) is not None) is on


def _processors(environ: dict[str, str]) -> list[object]:
    provider = telemetry.provider_from("boundbox-relay", environ)
    assert provider is not None
    return list(provider._active_span_processor._span_processors)


def test_the_service_name_defaults_per_process_and_otel_service_name_wins(
    tmp_path: Path,
) -> None:
    default = telemetry.provider_from("boundbox-relay", ENDPOINT)
    named = telemetry.provider_from("boundbox-relay", {**ENDPOINT, "OTEL_SERVICE_NAME": "shop"})
    assert default is not None and named is not None
    assert default.resource.attributes["service.name"] == "boundbox-relay"
    assert named.resource.attributes["service.name"] == "shop"
    [otlp] = _processors(ENDPOINT)
    assert isinstance(otlp, BatchSpanProcessor)  # OTLP batches, off the event loop
    [file] = _processors({telemetry.SPANS_FILE: str(tmp_path / "spans.jsonl")})
    assert isinstance(file, SimpleSpanProcessor)


def test_the_spans_file_holds_a_json_line_per_span(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    provider = telemetry.provider_from("boundbox-sales", {telemetry.SPANS_FILE: str(path)})
    assert provider is not None
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner"):
        pass
    provider.shutdown()
    inner, outer = (json.loads(line) for line in path.read_text().splitlines())
    assert (inner["name"], outer["name"]) == ("inner", "outer")
    assert inner["trace_id"] == outer["trace_id"] and inner["parent_span_id"] == outer["span_id"]
    assert outer["parent_span_id"] is None and outer["service"] == "boundbox-sales"


def test_a_root_mongodb_command_is_dropped_and_one_inside_a_span_kept(tmp_path: Path) -> None:
    from opentelemetry.trace import SpanKind

    path = tmp_path / "spans.jsonl"
    provider = telemetry.provider_from("boundbox-relay", {telemetry.SPANS_FILE: str(path)})
    assert provider is not None
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("poll", kind=SpanKind.CLIENT):  # a relay's poll: no trace
        pass
    with (
        tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER),
        tracer.start_as_current_span("find", kind=SpanKind.CLIENT),
    ):
        pass
    provider.shutdown()
    assert [json.loads(line)["name"] for line in path.read_text().splitlines()] == [
        "find",
        "publish",
    ]


def test_without_a_tracer_provider_messages_and_headers_are_left_as_they_are() -> None:
    headers = EventHeaders(correlation_id="c", traceparent=TRACEPARENT)
    assert stamped(headers) is headers
    event = StoredEvent.model_validate(
        {
            "_id": "3f0c1f3e-6f6b-4d43-9d43-2a3b4c5d6e7f",
            "type": "order.placed",
            "aggregate_type": "order",
            "aggregate_id": "o-1",
            "aggregate_version": 1,
            "occurred_at": "2026-01-02T03:04:05Z",
            "payload": {},
            "headers": headers.model_dump(),
            "routing_key": "order.placed",
            "partition": 0,
        }
    )
    outgoing = build(event)
    with publishing(outgoing, exchange="bbtest.events") as sent:
        assert sent is outgoing


def test_trace_ids_are_read_from_valid_traceparents_only() -> None:
    assert trace_id_of(TRACEPARENT) == "0af7651916cd43dd8448eb211c80319c"
    for invalid in (None, "", "garbage", 42, "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        assert trace_id_of(invalid) is None
    assert context_of(None) == {}


@pytest.mark.parametrize("command", ["api", "relay", "consume", "dev"])
def test_the_help_of_a_traced_command_names_the_otel_variables(command: str) -> None:
    from boundbox.envhelp import epilog

    text = epilog(command)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in text and "OTEL_SDK_DISABLED" in text
    assert telemetry.SERVICE_NAMES[command] in text
    assert "OTEL_" not in epilog("audit")


def test_spans_go_to_the_otlp_endpoint_over_http() -> None:
    """What a collector (Jaeger, the OpenTelemetry Collector) receives: protobuf on /v1/traces."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Collector) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            endpoint = f"http://127.0.0.1:{server.server_address[1]}"
            environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
            with pytest.MonkeyPatch.context() as patch:  # the exporter reads it itself
                patch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                provider = telemetry.provider_from("boundbox-api", environ)
                assert provider is not None
                with provider.get_tracer("test").start_as_current_span("POST /orders"):
                    pass
                provider.shutdown()  # flushes the batch
        finally:
            server.shutdown()
    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert b"POST /orders" in body and b"boundbox-api" in body
