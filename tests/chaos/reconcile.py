"""The reconciliation every chaos scenario ends with, once its load has stopped.

1. The state is whole (`invariants`): no partial order, no order without its event, no event
   without its order, stocks that add up, one stored reply per answered Idempotency-Key.
2. Then, polled until a deadline: every event is `published`, reached RabbitMQ (the witness
   queue saw its message id), and the sales projection equals the truth computed from the
   orders collection, each order event applied exactly once (one inbox entry each); its HTTP
   endpoints serve the same figures.
3. Nothing reached the broker that the outbox does not hold; nothing was dead-lettered.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aio_pika.abc import AbstractRobustConnection

from tests.chaos.invariants import (
    SalesTruth,
    diff,
    event_id,
    money,
    sales_truth,
    state_problems,
)
from tests.chaos.load import Ledger
from tests.chaos.stack import ChaosStack
from tests.support.processes import eventually

SHOWN = 15  # problems listed in a failure message


@dataclass
class Report:
    orders: int
    cancelled: int
    events: int
    deliveries: int
    duplicates: int
    replays: int
    statuses: dict[str, int]
    converged_in: float  # seconds from the end of the load until everything was delivered

    def __str__(self) -> str:
        return (
            f"orders={self.orders} cancelled={self.cancelled} events={self.events} "
            f"deliveries={self.deliveries} duplicates={self.duplicates} "
            f"replayed={self.replays} answers={self.statuses} "
            f"converged in {self.converged_in:.1f}s"
        )


async def reconcile(stack: ChaosStack, ledger: Ledger, *, within: float = 60.0) -> Report:
    assert not ledger.unexpected, "unexpected answers:\n" + "\n".join(ledger.unexpected[:SHOWN])
    assert not ledger.abandoned, "never answered:\n" + "\n".join(ledger.abandoned[:SHOWN])
    orders = {str(d["_id"]): d async for d in stack.shop["orders"].find()}
    events = [e async for e in stack.shop["outbox"].find()]
    _fail_on(await state_problems(stack.shop, ledger, orders, events), "partial state")

    truth = sales_truth(orders.values())
    order_events = sum(1 for e in events if e["aggregate_type"] == "order")
    outbox_ids = {event_id(e["_id"]) for e in events}

    async def delivered() -> list[str]:
        return await delivery_problems(stack, truth, outbox_ids, order_events)

    started = time.monotonic()
    await converge(delivered, within=within)
    converged_in = time.monotonic() - started

    _fail_on(await served_problems(stack, truth), "the sales read API disagrees")
    phantoms = stack.subscriber.ids - outbox_ids
    assert not phantoms, f"messages on the broker the outbox never held: {sorted(phantoms)[:5]}"
    assert await queued(stack.broker, f"{stack.sales_queue}.dlq") == 0
    return Report(
        orders=len(orders),
        cancelled=len(ledger.cancelled),
        events=len(events),
        deliveries=sum(stack.subscriber.deliveries.values()),
        duplicates=stack.subscriber.duplicates,
        replays=ledger.replays,
        statuses={str(k): v for k, v in sorted(ledger.statuses().items(), key=str)},
        converged_in=converged_in,
    )


def _fail_on(problems: list[str], what: str) -> None:
    assert not problems, f"{what}: {len(problems)} problems\n" + "\n".join(problems[:SHOWN])


async def converge(probe: Callable[[], Awaitable[list[str]]], *, within: float) -> None:
    """Polls `probe` (the problems left) until it reports none; fails with the last ones."""
    last: list[str] = []

    async def settled() -> bool:
        nonlocal last
        last = await probe()
        return not last

    try:
        await eventually(settled, within=within, interval=0.25)
    except AssertionError:
        _fail_on(last, f"not converged within {within}s")


async def delivery_problems(
    stack: ChaosStack, truth: SalesTruth, outbox_ids: set[str], order_events: int
) -> list[str]:
    problems = []
    statuses = Counter([d["status"] async for d in stack.shop["outbox"].find({}, {"status": 1})])
    if set(statuses) != {"published"}:
        problems.append(f"outbox statuses {dict(statuses)}")
    if unseen := outbox_ids - stack.subscriber.ids:
        problems.append(f"{len(unseen)} events never reached RabbitMQ: {sorted(unseen)[:3]}")
    sales = stack.sales
    products = {
        d["_id"]: (d["units_sold"], d["revenue_cents"])
        async for d in sales["sales_products"].find()
    }
    if products != truth.products:
        problems.append(f"product sales differ: {diff(products, truth.products)}")
    customers = {
        d["_id"]: (d["orders"], d["placed"], d["cancelled"], d["spent_cents"])
        async for d in sales["sales_customers"].find()
    }
    if customers != truth.customers:
        problems.append(f"customer sales differ: {diff(customers, truth.customers)}")
    inbox = await sales["inbox"].count_documents({"consumer": "sales"})
    if inbox != order_events:
        problems.append(f"{inbox} inbox entries for {order_events} order events")
    return problems


async def served_problems(stack: ChaosStack, truth: SalesTruth) -> list[str]:
    """The projection as its HTTP endpoints serve it, against the same truth."""
    problems = []
    for product_id, (units, revenue) in truth.products.items():
        body = (await stack.probes.get(f"{stack.consumer_url}/sales/products/{product_id}")).json()
        if (body.get("units_sold"), body.get("revenue")) != (units, money(revenue)):
            problems.append(f"GET /sales/products/{product_id}: {body}, expected {units} {revenue}")
    for customer, (standing, placed, cancelled, spent) in truth.customers.items():
        body = (await stack.probes.get(f"{stack.consumer_url}/sales/customers/{customer}")).json()
        served = tuple(body.get(k) for k in ("orders", "placed", "cancelled", "spent"))
        if served != (standing, placed, cancelled, money(spent)):
            problems.append(f"GET /sales/customers/{customer}: {body}")
    return problems


async def queued(connection: AbstractRobustConnection, queue: str) -> int:
    """The messages waiting in `queue` (declared passively: it must exist)."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await channel.close()
