"""`boundbox consume sales` applying a backlog in batches (CONSUMER_BATCH), killed mid-way."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aio_pika.abc import AbstractRobustChannel
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer.service import KILL_AFTER_COMMIT
from tests.consumer.conftest import Names
from tests.sales.conftest import StartSales
from tests.sales.factories import order_payload
from tests.sales.test_sales_service import DUPLICATES, PROCESSED, order_event, product, reaches
from tests.support.processes import eventually


async def test_a_sigkill_after_a_batch_commits_redelivers_it_and_applies_it_once(
    start_sales: StartSales,
    channel: AbstractRobustChannel,
    names: Names,
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(12)]
    doomed = await start_sales(CONSUMER_BATCH="16", **{KILL_AFTER_COMMIT: ids[5]})
    # Published at once: they pile up while the consumer applies the first ones.
    await asyncio.gather(
        *(
            order_event(
                channel,
                names,
                "placed",
                order_payload(f"c{i}", [("pb", 1, "2.00")]),
                event_id=event_id,
            )
            for i, event_id in enumerate(ids)
        )
    )
    assert await doomed.exited() == -9
    # The batch holding ids[5] (and those before it) committed; none was acknowledged.
    committed = await database["sales_products"].find_one({"_id": "pb"})
    assert committed is not None and 6 <= committed["units_sold"] <= len(ids)
    applied = committed["units_sold"]

    sales = await start_sales(CONSUMER_BATCH="16")
    await reaches(sales, DUPLICATES, 1)  # at least ids[5]: recognised from the inbox

    async def drained() -> bool:
        queue = await channel.declare_queue(f"{names.prefix}.sales", passive=True)
        return queue.declaration_result.message_count == 0

    await eventually(drained, within=20)
    await reaches(sales, PROCESSED, len(ids) - applied, type="order.placed")
    assert await sales.metric(PROCESSED, type="order.placed") == len(ids) - applied
    assert await product(sales, "pb") == {
        "product_id": "pb",
        "units_sold": len(ids),
        "revenue": f"{2 * len(ids)}.00",
    }
