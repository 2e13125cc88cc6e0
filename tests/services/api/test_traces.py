"""OpenTelemetry in the API: a command's request span, its MongoDB commands in the same trace,
and the recorded event naming that trace (in-process, the SDK's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pymongo.asynchronous.database import AsyncDatabase

from boundbox import telemetry
from boundbox.tracing_sdk import NoRootClientSpans
from tests.services import factories
from tests.services.apps import api_settings, running_api

DB = AsyncDatabase[dict[str, object]]
INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="session")
def _recorder() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """One provider for the whole run: pymongo's instrumentation keeps the first it is given."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=NoRootClientSpans(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def spans(
    _recorder: tuple[TracerProvider, InMemorySpanExporter],
) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """The recording provider, with MongoDB commands traced during the test only."""
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    provider, exporter = _recorder
    exporter.clear()
    telemetry.instrument_pymongo(provider)
    try:
        yield provider, exporter
    finally:
        PymongoInstrumentor().uninstrument()
        exporter.clear()


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


@pytest.mark.parametrize("incoming", [None, INCOMING])
async def test_a_command_is_one_trace_and_its_event_names_the_request_span(
    spans: tuple[TracerProvider, InMemorySpanExporter],
    mongodb_url: str,
    database: DB,
    incoming: str | None,
) -> None:
    provider, exporter = spans
    settings = api_settings(mongodb_url, database.name)
    async with running_api(settings, tracer_provider=provider) as client:
        exporter.clear()  # the lifespan's own commands (indexes) trace nothing anyway
        headers = {"traceparent": incoming} if incoming else {}
        response = await client.post("/categories", json=factories.category_body(), headers=headers)
        assert response.status_code == 201, response.text
        await client.get("/healthz")  # a probe: no span

    finished = exporter.get_finished_spans()
    [request] = [s for s in finished if s.kind is SpanKind.SERVER]
    assert request.name == "POST /categories"
    attributes = request.attributes or {}
    assert attributes["http.route"] == "/categories"
    # The semantic conventions' old name, or the stable one (OTEL_SEMCONV_STABILITY_OPT_IN).
    assert attributes.get("http.status_code", attributes.get("http.response.status_code")) == 201
    trace_id = request.context.trace_id if request.context else None
    if incoming:  # the caller's trace goes on
        assert f"{trace_id:032x}" == INCOMING.split("-")[1]
        assert request.parent is not None and request.parent.span_id == int(
            INCOMING.split("-")[2], 16
        )
    mongo = [s for s in finished if s.kind is SpanKind.CLIENT]
    commands = {s.name.rsplit(".", 1)[-1] for s in mongo}
    assert {"insert", "commitTransaction"} <= commands, commands
    for span in mongo:
        assert span.context is not None and span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id == request.context.span_id  # type: ignore[union-attr]
        assert span.attributes is not None and span.attributes["db.system"] == "mongodb"
    assert len(finished) == 1 + len(mongo), [s.name for s in finished]
    [event] = await factories.events(database, type="category.created")
    assert event["headers"]["traceparent"] == traceparent_of(request)


async def test_without_a_tracer_the_incoming_traceparent_is_stored_as_it_came(
    client: httpx.AsyncClient, database: DB
) -> None:
    await client.post(
        "/categories", json=factories.category_body(), headers={"traceparent": INCOMING}
    )

    [event] = await factories.events(database)
    assert event["headers"]["traceparent"] == INCOMING


async def test_placing_an_order_takes_three_mongodb_commands_however_many_products(
    spans: tuple[TracerProvider, InMemorySpanExporter], mongodb_url: str, database: DB
) -> None:
    """Each round trip holds the order's transaction open longer: their number is fixed."""
    provider, exporter = spans
    async with running_api(api_settings(mongodb_url, database.name), tracer_provider=provider) as c:
        category = (await c.post("/categories", json=factories.category_body())).json()["id"]
        products = [
            (await c.post("/products", json=factories.product_body(category))).json()["id"]
            for _ in range(3)
        ]
        for n in (1, 3):
            exporter.clear()
            order = {
                "customer": "admin",
                "items": [{"product_id": p, "quantity": 1} for p in products[:n]],
            }
            response = await c.post("/orders", json=order, headers={"Idempotency-Key": f"k{n}"})
            assert response.status_code == 201, response.text
            commands = [
                s.name.rsplit(".", 1)[-1]
                for s in exporter.get_finished_spans()
                if s.kind is SpanKind.CLIENT
            ]
            assert commands == [
                "find",  # the products
                # In one command: their stock, each only at the version read; the order;
                # every event, at the versions of the order and its products; the reply
                # stored under the Idempotency-Key.
                "bulkWrite",
                "commitTransaction",
            ], commands
