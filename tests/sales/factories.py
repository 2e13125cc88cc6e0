"""Order event payloads as the shop records them (services.domain.orders)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from outbox.events import partition_of

CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):f}"


def order_payload(
    customer: str, lines: Sequence[tuple[str, int, str]], *, order_id: str = "o-1"
) -> dict[str, Any]:
    """`lines` are (product id, quantity, unit price as a string)."""
    items = [
        {
            "product_id": product_id,
            "product_name": f"Product {product_id}",
            "quantity": quantity,
            "unit_price": price,
            "line_total": money(Decimal(price) * quantity),
        }
        for product_id, quantity, price in lines
    ]
    total = sum((Decimal(item["line_total"]) for item in items), Decimal(0))
    return {"order_id": order_id, "customer": customer, "items": items, "total": money(total)}


def stored_event(
    kind: str,
    payload: dict[str, Any],
    *,
    version: int,
    occurred_at: datetime,
    status: str = "published",
) -> dict[str, Any]:
    """An `order.<kind>` event as `outbox.record` stores it (for inserting history directly)."""
    order_id = payload["order_id"]
    return {
        "_id": uuid.uuid4(),
        "type": f"order.{kind}",
        "aggregate_type": "order",
        "aggregate_id": order_id,
        "aggregate_version": version,
        "occurred_at": occurred_at,
        "payload": payload,
        "headers": {"correlation_id": None, "causation_id": None, "traceparent": None},
        "routing_key": f"order.{kind}",
        "partition": partition_of("order", order_id),
        "status": status,
        "attempts": 0,
        "available_at": occurred_at,
        "last_error": None,
        "published_at": occurred_at if status == "published" else None,
    }


def order_history(
    orders: int,
    *,
    rng: random.Random,
    products: int = 200,
    customers: int = 50,
    cancel_share: float = 0.3,
    start: datetime | None = None,
    status: str = "published",
    prefix: str = "o",
) -> list[dict[str, Any]]:
    """`orders` placed orders (1-3 lines each), a share of them cancelled, one event per
    millisecond from `start` (default: an hour ago), as stored events."""
    moment = start or datetime.now(UTC) - timedelta(hours=1)
    events = []
    for index in range(orders):
        lines = [
            (f"p{rng.randrange(products)}", rng.randint(1, 5), f"{rng.randint(1, 9999) / 100:.2f}")
            for _ in range(rng.randint(1, 3))
        ]
        payload = order_payload(f"c{rng.randrange(customers)}", lines, order_id=f"{prefix}{index}")
        moment += timedelta(milliseconds=1)
        events.append(stored_event("placed", payload, version=1, occurred_at=moment, status=status))
        if rng.random() < cancel_share:
            moment += timedelta(milliseconds=1)
            events.append(
                stored_event("cancelled", payload, version=2, occurred_at=moment, status=status)
            )
    return events
