"""`boundbox consume sales` as a process: real RabbitMQ, the dev database (or MONGODB_URL)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aio_pika.abc import AbstractRobustChannel
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer.service import KILL_AFTER_COMMIT
from tests.consumer.conftest import Names, consumers_of
from tests.consumer.messages import event_message, publish, raw_message, take
from tests.sales.conftest import SalesProcess, StartSales
from tests.sales.factories import order_payload
from tests.support.processes import eventually
from tests.support.tcp_proxy import TcpProxy

PROCESSED = "boundbox_consumer_processed_total"
DUPLICATES = "boundbox_consumer_duplicates_total"


async def order_event(
    channel: AbstractRobustChannel,
    names: Names,
    kind: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
) -> str:
    event_id = event_id or str(uuid.uuid4())
    message = event_message(f"order.{kind}", payload, event_id=event_id, aggregate_id="o-1")
    await publish(channel, names.exchange, f"order.{kind}", message)
    return event_id


async def reaches(sales: SalesProcess, metric: str, value: float, **labels: str) -> None:
    async def probe() -> bool:
        return await sales.metric(metric, **labels) >= value

    await eventually(probe, within=20)


async def product(sales: SalesProcess, product_id: str) -> dict[str, Any]:
    response = await sales.http.get(f"/sales/products/{product_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def customer(sales: SalesProcess, name: str) -> dict[str, Any]:
    response = await sales.http.get(f"/sales/customers/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_same_message_delivered_three_times_changes_the_projection_once(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names
) -> None:
    sales = await start_sales()
    payload = order_payload("ada", [("p1", 2, "12.50"), ("p2", 1, "3.00")])
    event_id = str(uuid.uuid4())
    for _ in range(3):
        await order_event(channel, names, "placed", payload, event_id=event_id)

    await reaches(sales, DUPLICATES, 2)
    assert await sales.metric(PROCESSED, type="order.placed") == 1
    assert await product(sales, "p1") == {"product_id": "p1", "units_sold": 2, "revenue": "25.00"}
    assert await product(sales, "p2") == {"product_id": "p2", "units_sold": 1, "revenue": "3.00"}
    assert await customer(sales, "ada") == {
        "customer": "ada",
        "orders": 1,
        "placed": 1,
        "cancelled": 0,
        "spent": "28.00",
    }


async def test_a_cancelled_order_is_subtracted(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names
) -> None:
    sales = await start_sales()
    kept = order_payload("bob", [("p1", 1, "10.00")], order_id="o-1")
    gone = order_payload("bob", [("p1", 4, "10.00"), ("p3", 1, "0.99")], order_id="o-2")
    await order_event(channel, names, "placed", kept)
    await order_event(channel, names, "placed", gone)
    await order_event(channel, names, "cancelled", gone)

    await reaches(sales, PROCESSED, 1, type="order.cancelled")
    assert await product(sales, "p1") == {"product_id": "p1", "units_sold": 1, "revenue": "10.00"}
    assert await product(sales, "p3") == {"product_id": "p3", "units_sold": 0, "revenue": "0.00"}
    assert await customer(sales, "bob") == {
        "customer": "bob",
        "orders": 1,
        "placed": 2,
        "cancelled": 1,
        "spent": "10.00",
    }


async def test_a_sigkill_between_commit_and_ack_redelivers_and_applies_once(
    start_sales: StartSales,
    channel: AbstractRobustChannel,
    names: Names,
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    event_id = str(uuid.uuid4())
    doomed = await start_sales(**{KILL_AFTER_COMMIT: event_id})
    payload = order_payload("cy", [("p9", 3, "1.10")])
    await order_event(channel, names, "placed", payload, event_id=event_id)

    assert await doomed.exited() == -9
    # Committed before the kill: the effect is there, and the message was never acknowledged.
    assert await database["sales_products"].find_one({"_id": "p9"}) == {
        "_id": "p9",
        "units_sold": 3,
        "revenue_cents": 330,
    }

    sales = await start_sales()
    await reaches(sales, DUPLICATES, 1)
    assert await sales.metric(PROCESSED, type="order.placed") == 0
    assert await product(sales, "p9") == {"product_id": "p9", "units_sold": 3, "revenue": "3.30"}
    assert (await customer(sales, "cy"))["orders"] == 1
    queue = await channel.declare_queue(f"{names.prefix}.sales", passive=True)
    assert queue.declaration_result.message_count == 0


async def test_a_poison_message_is_dead_lettered_and_the_next_one_processed(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names
) -> None:
    sales = await start_sales()
    await publish(channel, names.exchange, "order.placed", raw_message(b"{not json"))
    bad_payload = {"customer": "dan", "items": [], "total": "0.00"}
    bad_id = await order_event(channel, names, "placed", bad_payload)
    await order_event(channel, names, "placed", order_payload("dan", [("p4", 1, "2.00")]))

    await reaches(sales, PROCESSED, 1, type="order.placed")
    assert await product(sales, "p4") == {"product_id": "p4", "units_sold": 1, "revenue": "2.00"}
    dlq = await channel.declare_queue(f"{names.prefix}.sales.dlq", passive=True)
    unparseable, rejected = await take(dlq), await take(dlq)
    assert unparseable.headers["x-boundbox-reason"] == "unparseable"
    assert "body is not JSON" in str(unparseable.headers["x-boundbox-error"])
    assert rejected.message_id == bad_id
    assert rejected.headers["x-boundbox-reason"] == "invalid-payload"
    assert "items" in str(rejected.headers["x-boundbox-error"])
    assert await sales.metric("boundbox_consumer_dead_lettered_total", reason="unparseable") == 1
    assert (
        await sales.metric("boundbox_consumer_dead_lettered_total", reason="invalid-payload") == 1
    )


async def test_the_read_api_answers_404_for_unknown_ids_and_health_on_the_same_port(
    start_sales: StartSales,
) -> None:
    sales = await start_sales()
    for path, detail in [
        ("/sales/products/nope", "no sales recorded for product 'nope'"),
        ("/sales/customers/nobody", "no orders recorded for customer 'nobody'"),
    ]:
        response = await sales.http.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "title": "Not Found",
            "status": 404,
            "code": "not_found",
            "detail": detail,
        }
    health = await sales.http.get("/healthz")
    assert health.json() == {"status": "ok", "database": True, "broker": True, "consuming": True}
    metrics = await sales.http.get("/metrics")
    assert "boundbox_consumer_broker_connected" in metrics.text


async def test_the_read_api_answers_503_while_mongodb_is_unreachable_then_recovers(
    start_sales: StartSales, mongodb_url: str
) -> None:
    server = urlsplit(mongodb_url)
    if "," in server.netloc:
        pytest.skip("the proxy stands in front of one server; MONGODB_URL names several")
    proxy = await TcpProxy.in_front_of(mongodb_url, default_port=27017)
    try:
        proxied = proxy.routed(mongodb_url)
        sales = await start_sales(MONGODB_URL=proxied)
        assert (await sales.http.get("/sales/products/p-1")).status_code == 404

        await proxy.cut()
        answers: list[httpx.Response] = []

        async def unavailable() -> bool:  # after the server selection timeout (5 s)
            response = await sales.http.get("/sales/products/p-1", timeout=20)
            answers.append(response)
            return response.status_code == 503

        await eventually(unavailable, within=30)
        assert {r.status_code for r in answers} <= {404, 503}  # never a 500
        response = answers[-1]
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["status"], body["code"]) == (503, "unavailable")
        assert body["detail"] in {
            "MongoDB is not reachable",
            "the sales database is not ready yet",
        }

        await proxy.restore()

        async def answering() -> bool:
            response = await sales.http.get("/sales/products/p-1", timeout=20)
            return response.status_code == 404

        await eventually(answering, within=30)
    finally:
        await proxy.close()


async def test_sigterm_stops_consuming_and_exits_0(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names, broker: Any
) -> None:
    sales = await start_sales()
    queue = f"{names.prefix}.sales"
    assert await consumers_of(broker, queue) == 1
    assert sales.terminate() == 0
    assert await consumers_of(broker, queue) == 0
