"""`boundbox consume sales` against the messages of issue #13: it stays up, dead-letters each
with its reason, keeps its figures in int64, and answers problem documents."""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractRobustChannel
from pymongo.asynchronous.database import AsyncDatabase

from tests.consumer.conftest import Names
from tests.consumer.messages import publish, raw_message, take
from tests.sales.conftest import StartSales
from tests.sales.factories import order_payload
from tests.sales.test_sales_service import PROCESSED, order_event, product, reaches

DEAD = "boundbox_consumer_dead_lettered_total"


async def dead_letters(channel: AbstractRobustChannel, names: Names, count: int) -> list[Any]:
    dlq = await channel.declare_queue(f"{names.prefix}.sales.dlq", passive=True)
    return [await take(dlq) for _ in range(count)]


async def test_the_messages_that_killed_it_are_dead_lettered_and_it_stays_up(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names
) -> None:
    sales = await start_sales()
    for body in [b"[" * 100_000 + b"]" * 100_000, b'{"id": ' + b"1" * 5000 + b"}"]:
        await publish(channel, names.exchange, "order.placed", raw_message(body))
    huge_price = order_payload("eve", [("p1", 1, "1.00")])
    huge_price["items"][0] |= {"unit_price": "1E+400000", "line_total": "1E+400000"}
    await order_event(channel, names, "placed", huge_price)
    negative = order_payload("eve", [("p1", 1, "1.00")]) | {"total": "-1.00"}
    await order_event(channel, names, "placed", negative)
    await order_event(channel, names, "placed", order_payload("ann", [("p2", 2, "3.00")]))

    await reaches(sales, PROCESSED, 1, type="order.placed")
    assert await product(sales, "p2") == {"product_id": "p2", "units_sold": 2, "revenue": "6.00"}
    reasons = [dead.headers["x-boundbox-reason"] for dead in await dead_letters(channel, names, 4)]
    assert reasons == ["unparseable", "unparseable", "invalid-payload", "invalid-payload"]
    assert sales.process is not None and sales.process.poll() is None
    assert (await sales.http.get("/sales/products/p1")).status_code == 404


async def test_a_body_over_the_size_limit_is_dead_lettered_unread(
    start_sales: StartSales, channel: AbstractRobustChannel, names: Names
) -> None:
    sales = await start_sales(CONSUMER_MAX_MESSAGE_BYTES="2048")
    await publish(channel, names.exchange, "order.placed", raw_message(b"{" * 3000))
    [dead] = await dead_letters(channel, names, 1)
    assert dead.headers["x-boundbox-reason"] == "too-large"
    assert await sales.metric(DEAD, reason="too-large") == 1


async def test_a_sum_that_would_leave_int64_is_poison_and_no_float_is_ever_stored(
    start_sales: StartSales,
    channel: AbstractRobustChannel,
    names: Names,
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    near = 2**63 - 100
    await database["sales_products"].insert_one(
        {"_id": "p1", "units_sold": 1, "revenue_cents": near}
    )
    sales = await start_sales()
    await order_event(channel, names, "placed", order_payload("ann", [("p1", 1, "5.00")]))

    [dead] = await dead_letters(channel, names, 1)
    assert dead.headers["x-boundbox-reason"] == "rejected"
    assert "revenue_cents" in str(dead.headers["x-boundbox-error"])
    stored = await database["sales_products"].find_one({"_id": "p1"})
    assert stored == {"_id": "p1", "units_sold": 1, "revenue_cents": near}
    assert await database["sales_customers"].count_documents({}) == 0
    response = await sales.http.get("/sales/products/p1")
    assert response.status_code == 200
    assert response.json()["revenue"] == "92233720368547757.08"


async def test_every_error_of_the_read_api_is_a_problem_document(start_sales: StartSales) -> None:
    sales = await start_sales()
    for method, path, status in [
        ("GET", "/sales/nothing", 404),
        ("GET", "/sales/products/nope", 404),
        ("POST", "/sales/products/p1", 405),
    ]:
        response = await sales.http.request(method, path)
        assert response.status_code in (status, 401), response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
