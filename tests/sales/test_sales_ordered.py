"""`boundbox consume sales` with CONSUMER_ORDERED=true: its queues, and the version rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from tests.consumer.conftest import Names, consumers_of
from tests.consumer.messages import event_message, publish
from tests.sales.conftest import SalesProcess, StartSales
from tests.sales.factories import order_payload
from tests.support.processes import eventually

PARTITIONS = 2


@pytest.fixture
def ordered_sales(names: Names, consistent_hash: None) -> str:
    """The sales consumer's queue name; its ordered queues and hash exchange deleted after."""
    return names.ordered_queue("sales", PARTITIONS)


async def send(
    channel: AbstractRobustChannel, names: Names, kind: str, payload: dict[str, Any], version: int
) -> None:
    message = event_message(
        f"order.{kind}", payload, event_id=str(uuid.uuid4()), aggregate_id="o-7", version=version
    )
    await publish(channel, names.exchange, f"order.{kind}", message)


async def customer(sales: SalesProcess) -> dict[str, Any]:
    response = await sales.http.get("/sales/customers/dee")
    return dict(response.json()) if response.status_code == 200 else {}


async def test_ordered_sales_reads_its_partitions_and_applies_each_version_once(
    start_sales: StartSales,
    channel: AbstractRobustChannel,
    names: Names,
    broker: AbstractRobustConnection,
    ordered_sales: str,
) -> None:
    sales = await start_sales(CONSUMER_ORDERED="true", CONSUMER_PARTITIONS=str(PARTITIONS))
    assert [await consumers_of(broker, f"{ordered_sales}.{n}") for n in range(PARTITIONS)] == [1, 1]
    assert await consumers_of(broker, ordered_sales) == 0  # no shared queue is declared

    order = order_payload("dee", [("p1", 2, "5.00")], order_id="o-7")
    await send(channel, names, "placed", order, 1)
    await send(channel, names, "placed", order, 1)  # another id, a version applied: a no-op
    await send(channel, names, "noted", {"note": "gift"}, 2)  # no handler: only takes 2
    await send(channel, names, "cancelled", order, 3)

    async def cancelled() -> bool:
        return (await customer(sales)).get("cancelled") == 1

    await eventually(cancelled, within=20)
    assert await customer(sales) == {
        "customer": "dee",
        "orders": 0,
        "placed": 1,
        "cancelled": 1,
        "spent": "0.00",
    }


async def test_its_heartbeat_and_expiry_are_the_settings(
    start_sales: StartSales, database: AsyncDatabase[dict[str, Any]], ordered_sales: str
) -> None:
    await start_sales(
        CONSUMER_ORDERED="true",
        CONSUMER_PARTITIONS=str(PARTITIONS),
        CONSUMER_HEARTBEAT_SECONDS="0.2",
        CONSUMER_MEMBER_EXPIRY_SECONDS="30",
    )
    members = database["consumer_members"]

    async def until() -> datetime | None:
        found = await members.find_one({"consumer": "sales"})
        return None if found is None else found["until"].replace(tzinfo=UTC)

    async def changed(since: datetime) -> datetime:
        async def later() -> datetime | None:
            now = await until()
            return now if now is not None and now > since else None

        return await eventually(later, within=1.0, interval=0.01)

    first = await eventually(until)
    assert first is not None
    # Each heartbeat sets `until` to its moment plus the expiry (30 s, not the default 10 s),
    # and they come 0.2 s apart (not the default 2 s).
    assert timedelta(seconds=25) < first - datetime.now(UTC) <= timedelta(seconds=30)
    beat = await changed(first)
    assert await changed(beat) - beat < timedelta(seconds=1)
