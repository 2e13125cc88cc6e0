"""The state a chaos scenario must leave: whole documents that add up, and the sales truth.

Checked once the load has stopped (nothing changes them any more): the orders are exactly
those the API answered 201, each complete, with exactly one `order.placed` (and one
`order.cancelled` if cancelled) in the outbox; every product's stock and version add up from
its orders and restocks; every event belongs to an aggregate that exists, in versions 1, 2, 3…;
every answered Idempotency-Key is stored once.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tests.chaos.load import CUSTOMERS, Ledger

ORDER_FIELDS = {"_id", "customer", "lines", "status", "placed_at", "cancelled_at", "version"}
LINE_FIELDS = {"product_id", "product_name", "quantity", "unit_price"}
PRODUCT_FIELDS = {"_id", "name", "price", "category_id", "stock", "version"}
EVENT_FIELDS = {
    "_id",
    "type",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "occurred_at",
    "payload",
    "headers",
    "routing_key",
    "partition",
    "status",
}

Document = dict[str, Any]


def event_id(value: Any) -> str:
    """The message id of an outbox `_id`: a UUID (the dev database returns its 16 bytes)."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(bytes=bytes(value)))


def cents(amount: str | Decimal) -> int:
    return int(Decimal(amount) * 100)


def money(amount_in_cents: int) -> str:
    """As the API writes amounts: "12.50"."""
    return f"{Decimal(amount_in_cents) / 100:.2f}"


async def state_problems(
    shop: AsyncDatabase[Document], ledger: Ledger, orders: dict[str, Document], events: list[Any]
) -> list[str]:
    problems = _order_problems(ledger, orders)
    products = {str(d["_id"]): d async for d in shop["products"].find()}
    problems += _stock_problems(ledger, orders, products)
    categories = [str(d["_id"]) async for d in shop["categories"].find()]
    if categories != [ledger.category_id]:
        problems.append(f"categories {categories}, expected [{ledger.category_id}]")
    problems += _event_problems(ledger, orders, events, set(categories))
    versions: dict[str, list[int]] = {}
    for e in events:
        versions.setdefault(f"{e['aggregate_type']}:{e['aggregate_id']}", []).append(
            e["aggregate_version"]
        )
    if gaps := {k: v for k, v in versions.items() if sorted(v) != list(range(1, len(v) + 1))}:
        problems.append(f"event versions are not 1..n: {dict(list(gaps.items())[:5])}")
    # stored under [caller, key]: every request of the load is the admin's
    keys = {json.loads(d["_id"])[1] async for d in shop["idempotency_keys"].find()}
    if keys != ledger.succeeded:
        problems.append(f"idempotency keys stored != answered: {diff_sets(keys, ledger.succeeded)}")
    return problems


def _order_problems(ledger: Ledger, orders: dict[str, Document]) -> list[str]:
    problems = []
    if missing := set(ledger.orders) - set(orders):
        problems.append(f"{len(missing)} orders answered 201 do not exist: {sorted(missing)[:5]}")
    if extra := set(orders) - set(ledger.orders):
        problems.append(f"{len(extra)} orders exist that no 201 announced: {sorted(extra)[:5]}")
    for order_id, order in orders.items():
        if set(order) != ORDER_FIELDS:
            problems.append(f"order {order_id} has fields {sorted(order)}")
            continue
        cancelled = order["status"] == "cancelled"
        expected = (2, True) if cancelled else (1, False)
        if order["status"] not in ("placed", "cancelled") or expected != (
            order["version"],
            order["cancelled_at"] is not None,
        ):
            problems.append(f"order {order_id} is inconsistent: {order}")
        if cancelled != (order_id in ledger.cancelled):
            problems.append(f"order {order_id} is {order['status']}, the API answered otherwise")
        if order["customer"] not in CUSTOMERS or not order["lines"]:
            problems.append(f"order {order_id} has a bad customer or no lines: {order}")
        for line in order["lines"]:
            if set(line) != LINE_FIELDS or line["product_id"] not in ledger.initial_stock:
                problems.append(f"order {order_id} has a bad line: {line}")
    return problems


def _stock_problems(
    ledger: Ledger, orders: dict[str, Document], products: dict[str, Document]
) -> list[str]:
    """stock = initial + restocked - reserved by standing orders; one version per event:
    one per restock, one per product an order reserves, one per product a cancel returns to."""
    if set(products) != set(ledger.products):
        return [f"products {sorted(products)} != created {sorted(ledger.products)}"]
    reserved: Counter[str] = Counter()
    changes: Counter[str] = Counter(ledger.restocks)
    for order in orders.values():
        # an order reserves each product once, however many lines hold it; a cancel releases it
        changes.update({line["product_id"] for line in order["lines"]})
        for line in order["lines"]:
            if order["status"] == "placed":
                reserved[line["product_id"]] += line["quantity"]
        if order["status"] == "cancelled":
            changes.update({line["product_id"] for line in order["lines"]})
    problems = []
    for product_id, product in products.items():
        stock = ledger.initial_stock[product_id] + ledger.restocked[product_id]
        stock -= reserved[product_id]
        if set(product) != PRODUCT_FIELDS:
            problems.append(f"product {product_id} has fields {sorted(product)}")
        elif (product["stock"], product["version"]) != (stock, 1 + changes[product_id]):
            problems.append(
                f"product {product_id}: stock {product['stock']} version {product['version']}, "
                f"expected stock {stock} version {1 + changes[product_id]}"
            )
    return problems


def _event_problems(
    ledger: Ledger, orders: dict[str, Document], events: list[Any], categories: set[str]
) -> list[str]:
    """Exactly the events each aggregate's history implies (the product's interleave in any
    order after its creation), in versions 1, 2, 3…"""
    expected: dict[tuple[str, str], list[str]] = {
        ("category", c): ["category.created"] for c in categories
    }
    for product_id in ledger.products:
        restocks = ["product.restocked"] * ledger.restocks[product_id]
        expected["product", product_id] = ["product.created", *restocks]
    for order_id, order in orders.items():
        cancelled = order["status"] == "cancelled"
        expected["order", order_id] = ["order.placed", *(["order.cancelled"] if cancelled else [])]
        for product_id in {line["product_id"] for line in order["lines"]}:
            stream = expected.setdefault(("product", product_id), [])
            stream += ["product.stock_reserved", *(["product.stock_released"] if cancelled else [])]

    found: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    problems = []
    for event in events:
        if not set(event) >= EVENT_FIELDS:
            problems.append(
                f"event {event_id(event['_id'])} lacks {sorted(EVENT_FIELDS - set(event))}"
            )
            continue
        found[event["aggregate_type"], event["aggregate_id"]].append(
            (event["aggregate_version"], event["type"])
        )
        if event["type"].startswith("order."):
            problems += _payload_problems(event, orders.get(event["aggregate_id"]))
    for aggregate in expected.keys() | found.keys():
        history = [kind for _, kind in sorted(found.get(aggregate, []))]
        versions = sorted(version for version, _ in found.get(aggregate, []))
        wanted = expected.get(aggregate)
        if (
            wanted is None
            or history[:1] != wanted[:1]
            or Counter(history) != Counter(wanted)
            or versions != list(range(1, len(versions) + 1))
        ):
            problems.append(
                f"{aggregate}: events {sorted(found.get(aggregate, []))}, "
                f"expected {expected.get(aggregate, 'none: no such aggregate')}"
            )
    return problems


def _payload_problems(event: Document, order: Document | None) -> list[str]:
    if order is None:
        return []  # reported as an event without its aggregate
    payload = event["payload"]
    lines = [(line["product_id"], line["quantity"], line["unit_price"]) for line in order["lines"]]
    items = [(i["product_id"], i["quantity"], i["unit_price"]) for i in payload.get("items", [])]
    total = sum(cents(line["unit_price"]) * line["quantity"] for line in order["lines"])
    if (payload.get("customer"), items, cents(payload.get("total", "0"))) != (
        order["customer"],
        lines,
        total,
    ):
        return [f"event {event_id(event['_id'])} does not describe its order: {payload}"]
    return []


@dataclass(frozen=True)
class SalesTruth:
    products: dict[str, tuple[int, int]]  # product id -> (units, revenue in cents)
    customers: dict[str, tuple[int, int, int, int]]  # -> (standing, placed, cancelled, spent)


def sales_truth(orders: Iterable[Document]) -> SalesTruth:
    """What the projection must hold, computed from the orders collection alone."""
    products: dict[str, tuple[int, int]] = {}
    customers: dict[str, tuple[int, int, int, int]] = {}
    for order in orders:
        standing = order["status"] == "placed"
        total = 0
        for line in order["lines"]:
            units, revenue = products.get(line["product_id"], (0, 0))
            amount = cents(line["unit_price"]) * line["quantity"]
            total += amount
            if standing:
                units, revenue = units + line["quantity"], revenue + amount
            products[line["product_id"]] = (units, revenue)
        orders_, placed, cancelled, spent = customers.get(order["customer"], (0, 0, 0, 0))
        customers[order["customer"]] = (
            orders_ + standing,
            placed + 1,
            cancelled + (not standing),
            spent + (total if standing else 0),
        )
    return SalesTruth(products, customers)


def diff(found: dict[Any, Any], expected: dict[Any, Any]) -> str:
    keys = sorted(k for k in found.keys() | expected.keys() if found.get(k) != expected.get(k))
    return ", ".join(f"{k}: {found.get(k)} != {expected.get(k)}" for k in keys[:5])


def diff_sets(found: set[Any], expected: set[Any]) -> str:
    return f"extra {sorted(found - expected)[:3]}, missing {sorted(expected - found)[:3]}"
