"""What an order event changes in the sales figures: pure arithmetic on exact decimals.

The payloads are validated by their contracts (services.contracts) before a handler runs:
every amount is at most 10^12 with two places, so the arithmetic here stays small.

`order.placed` adds its lines to each product (units and revenue) and one order to its
customer; `order.cancelled` subtracts exactly the same. A customer's `orders` is therefore the
number of their orders that stand (placed and not cancelled), with `placed` and `cancelled`
counted apart. Additions commute, so events applied in any order give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.contracts import OrderLinesPayload

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ProductChange:
    product_id: str
    units: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class CustomerChange:
    customer: str
    orders: int
    placed: int
    cancelled: int
    spent: Decimal


@dataclass(frozen=True, slots=True)
class SalesChange:
    """Everything one event adds to (or, negative, takes from) the figures."""

    products: tuple[ProductChange, ...]
    customer: CustomerChange


def placed(order: OrderLinesPayload) -> SalesChange:
    return _change(order, sign=1)


def cancelled(order: OrderLinesPayload) -> SalesChange:
    return _change(order, sign=-1)


def _change(order: OrderLinesPayload, *, sign: int) -> SalesChange:
    units: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    for line in order.items:  # a product may appear on several lines
        units[line.product_id] = units.get(line.product_id, 0) + line.quantity
        revenue[line.product_id] = revenue.get(line.product_id, Decimal(0)) + line.line_total
    products = tuple(
        ProductChange(product_id, sign * units[product_id], sign * revenue[product_id])
        for product_id in sorted(units)
    )
    customer = CustomerChange(
        customer=order.customer,
        orders=sign,
        placed=1 if sign > 0 else 0,
        cancelled=1 if sign < 0 else 0,
        spent=sign * order.total,
    )
    return SalesChange(products=products, customer=customer)


def to_cents(amount: Decimal) -> int:
    """Exact integer cents (amounts are stored as cents, so `$inc` adds them exactly)."""
    cents = amount / CENT
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> str:
    """The wire form of an amount of cents: "12.50"."""
    return f"{(Decimal(cents) * CENT).quantize(CENT):f}"
