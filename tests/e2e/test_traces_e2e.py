"""One trace per command across the API, relay and consumer processes (OpenTelemetry).

Each process writes its spans to a file of its own (BOUNDBOX_TRACES_FILE); the test reads
them back and follows the links: consumer's apply span -> relay's publish span -> the API's
request span, all in the request's trace, with the MongoDB commands of each side inside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from aio_pika.abc import AbstractRobustChannel
from pymongo import AsyncMongoClient

from boundbox.telemetry import SPANS_FILE
from tests.consumer.messages import event_message, publish
from tests.e2e.test_sales_e2e import spawn, stop, wait_http
from tests.sales.conftest import StartSales
from tests.support.auth import admin_headers
from tests.support.processes import eventually

INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
POISON_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

type Span = dict[str, Any]


def spans(path: Path) -> list[Span]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def one(found: list[Span], what: str) -> Span:
    assert len(found) == 1, f"{what}: {len(found)} spans: {found}"
    return found[0]


async def test_a_command_is_one_trace_from_the_request_to_the_consumer(
    start_sales: StartSales,
    shop_env: dict[str, str],
    mongo_client: AsyncMongoClient[dict[str, Any]],
    channel: AbstractRobustChannel,
    tmp_path: Path,
) -> None:
    files = {name: tmp_path / f"{name}.jsonl" for name in ("api", "relay", "sales")}
    sales = await start_sales(**{SPANS_FILE: str(files["sales"])})
    api = spawn("api", shop_env | {SPANS_FILE: str(files["api"])})
    relay = spawn("relay", shop_env | {SPANS_FILE: str(files["relay"])})
    try:
        api_url = f"http://127.0.0.1:{shop_env['API_PORT']}"
        await wait_http(f"{api_url}/readyz", api)
        await wait_http(f"http://127.0.0.1:{shop_env['RELAY_PORT']}/healthz", relay)
        async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=admin_headers()) as shop:
            category = (await shop.post("/categories", json={"name": "Traced"})).json()
            product = (
                await shop.post(
                    "/products",
                    json={
                        "name": "Lamp",
                        "price": "9.90",
                        "category_id": category["id"],
                        "stock": 10,
                    },
                )
            ).json()
            response = await shop.post(
                "/orders",
                json={"customer": "ada", "items": [{"product_id": product["id"], "quantity": 2}]},
                headers={"traceparent": INCOMING},  # a caller's trace: the command joins it
            )
            assert response.status_code == 201, response.text
            order = response.json()

        def applied() -> list[Span]:
            return [
                s
                for s in spans(files["sales"])
                if s["kind"] == "CONSUMER"
                and s["attributes"].get("boundbox.aggregate.id") == order["id"]
            ]

        async def order_applied() -> list[Span]:
            return applied()

        await eventually(order_applied, within=30, interval=0.1)

        # A message the consumer refuses: its span says so, in the sender's trace.
        poison = event_message("order.placed", {"not": "an order"})
        poison.headers["traceparent"] = POISON_PARENT
        await publish(channel, shop_env["EXCHANGE_NAME"], "order.placed", poison)

        async def refused() -> bool:
            return any(
                s["attributes"].get("messaging.message.id") == poison.message_id
                for s in spans(files["sales"])
            )

        await eventually(refused, within=30, interval=0.1)
    finally:
        assert stop(relay) == 0
        stop(api)
        await sales.close()
        await mongo_client.drop_database(shop_env["MONGODB_DB"])

    api_spans, relay_spans, sales_spans = (spans(files[n]) for n in ("api", "relay", "sales"))
    assert {s["service"] for s in api_spans} == {"boundbox-api"}
    assert {s["service"] for s in relay_spans} == {"boundbox-relay"}
    assert {s["service"] for s in sales_spans} == {"boundbox-sales"}
    probes = [s for s in (*api_spans, *sales_spans) if s["name"].startswith("GET /")]
    assert not probes, probes  # /readyz, /healthz, /metrics: no span

    # The API: the request's server span continues the caller's trace; its MongoDB commands
    # (the transaction: the products, their writes with the order's and the events', the
    # commit) are its children.
    request = one(
        [s for s in api_spans if s["kind"] == "SERVER" and s["name"] == "POST /orders"], "request"
    )
    trace_id = INCOMING.split("-")[1]
    assert request["trace_id"] == trace_id
    assert request["parent_span_id"] == INCOMING.split("-")[2]
    commands = [s for s in api_spans if s["trace_id"] == trace_id and s["kind"] == "CLIENT"]
    names = {s["name"].rsplit(".", 1)[-1] for s in commands}
    assert names >= {"find", "bulkWrite", "commitTransaction"}, names
    assert {s["parent_span_id"] for s in commands} == {request["span_id"]}

    # The relay: a publish span per event of the command, child of the request span.
    publishes = [s for s in relay_spans if s["trace_id"] == trace_id]
    assert {s["attributes"]["boundbox.event.type"] for s in publishes} >= {
        "order.placed",
        "product.stock_reserved",
    }
    for sent in publishes:
        assert sent["kind"] == "PRODUCER" and sent["status"] != "ERROR"
        assert sent["parent_span_id"] == request["span_id"]
        assert sent["attributes"]["messaging.system"] == "rabbitmq"
        assert sent["attributes"]["messaging.destination.name"] == shop_env["EXCHANGE_NAME"]
    placed = one(
        [s for s in publishes if s["attributes"]["boundbox.event.type"] == "order.placed"],
        "publish order.placed",
    )
    assert placed["name"] == f"publish {shop_env['EXCHANGE_NAME']}"
    attributes = placed["attributes"]
    assert attributes["messaging.rabbitmq.destination.routing_key"] == "order.placed"
    assert attributes["boundbox.aggregate.type"] == "order"
    assert attributes["boundbox.aggregate.id"] == order["id"]
    assert attributes["boundbox.aggregate.version"] == 1
    message_id = attributes["messaging.message.id"]

    # The consumer: its apply span is the publish span's child, in the same trace, and its
    # MongoDB commands (inbox, projection, commit) are the apply span's children.
    apply = one(
        [s for s in sales_spans if s["attributes"].get("messaging.message.id") == message_id],
        "apply order.placed",
    )
    assert apply["kind"] == "CONSUMER" and apply["name"] == "apply sales"
    assert apply["trace_id"] == trace_id
    assert apply["parent_span_id"] == placed["span_id"]
    assert apply["attributes"]["boundbox.consumer.outcome"] == "processed"
    assert apply["attributes"]["boundbox.event.type"] == "order.placed"
    writes = [s for s in sales_spans if s["parent_span_id"] == apply["span_id"]]
    assert writes and {s["trace_id"] for s in writes} == {trace_id}
    assert "commitTransaction" in {s["name"].rsplit(".", 1)[-1] for s in writes}
    # Every message the consumer applied was published in its trace.
    by_id = {s["span_id"]: s for s in relay_spans}
    for span in sales_spans:
        if span["kind"] == "CONSUMER" and span["status"] != "ERROR":
            assert by_id[span["parent_span_id"]]["trace_id"] == span["trace_id"]

    # The refused message: dead-lettered, an error, a child of the context it carried.
    refused = one(
        [
            s
            for s in sales_spans
            if s["attributes"].get("messaging.message.id") == poison.message_id
        ],
        "apply poison",
    )
    assert refused["attributes"]["boundbox.consumer.outcome"] == "dead_lettered"
    assert refused["status"] == "ERROR"
    assert (refused["trace_id"], refused["parent_span_id"]) == tuple(POISON_PARENT.split("-")[1:3])
