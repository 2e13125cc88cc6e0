"""Order event payloads as the shop records them (services.domain.orders)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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
