"""Orders: placing one reserves the stock of every line; cancelling it returns the stock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.contracts import fields
from services.contracts import orders as contract
from services.domain import money
from services.domain.aggregate import Aggregate, DomainEvent
from services.domain.catalog import Product, ProductStockReserved
from services.domain.errors import InsufficientStockError, InvalidStateError, InvalidValueError

MAX_LINES = fields.MAX_LINES
MAX_QUANTITY = fields.MAX_QUANTITY
CUSTOMER_MAX = fields.CUSTOMER_MAX
MAX_TOTAL = fields.AMOUNT_MAX


class OrderStatus(StrEnum):
    PLACED = "placed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    product_id: str
    product_name: str
    quantity: int
    unit_price: Decimal  # the product's price when the order was placed

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity

    def as_json(self) -> dict[str, Any]:
        return self.as_payload().model_dump(mode="json")

    def as_payload(self) -> contract.OrderLinePayload:
        return contract.OrderLinePayload(
            product_id=self.product_id,
            product_name=self.product_name,
            quantity=self.quantity,
            unit_price=self.unit_price,
            line_total=self.total,
        )


def _lines(order_id: str, customer: str, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """What a sales projection needs to add an order, or to subtract it again."""
    return {
        "order_id": order_id,
        "customer": customer,
        "items": tuple(line.as_payload() for line in lines),
        "total": sum((line.total for line in lines), Decimal(0)),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(DomainEvent):
    aggregate_type = "order"
    name = "placed"

    customer: str
    lines: tuple[OrderLine, ...]
    placed_at: datetime

    def payload(self) -> dict[str, Any]:
        return contract.OrderPlacedPayload(
            **_lines(self.aggregate_id, self.customer, self.lines), placed_at=self.placed_at
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(DomainEvent):
    aggregate_type = "order"
    name = "cancelled"

    customer: str
    lines: tuple[OrderLine, ...]
    cancelled_at: datetime

    def payload(self) -> dict[str, Any]:
        return contract.OrderCancelledPayload(
            **_lines(self.aggregate_id, self.customer, self.lines), cancelled_at=self.cancelled_at
        ).model_dump(mode="json")


@dataclass(slots=True, kw_only=True)
class Order(Aggregate):
    kind = "order"

    customer: str
    lines: tuple[OrderLine, ...]
    status: OrderStatus
    placed_at: datetime
    cancelled_at: datetime | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))

    @classmethod
    def place(
        cls, *, id: str, customer: str, items: Sequence[tuple[Product, int]], now: datetime
    ) -> tuple[Order, OrderPlaced, tuple[ProductStockReserved, ...]]:
        """Reserves every line's units from its product; raises before changing anything.

        A product may appear on several lines: it is reserved once, for all of them, and
        records one `product.stock_reserved` (in the order its first line comes).
        """
        customer = customer.strip()
        if not customer or len(customer) > CUSTOMER_MAX:
            raise InvalidValueError(("customer",), f"customer must have 1 to {CUSTOMER_MAX} chars")
        if not 1 <= len(items) <= MAX_LINES:
            raise InvalidValueError(("items",), f"an order has 1 to {MAX_LINES} items")
        for index, (_, quantity) in enumerate(items):
            if not 1 <= quantity <= MAX_QUANTITY:
                raise InvalidValueError(
                    ("items", index, "quantity"), f"quantity must be between 1 and {MAX_QUANTITY}"
                )
        if sum((product.price * quantity for product, quantity in items), Decimal(0)) > MAX_TOTAL:
            raise InvalidValueError(
                ("items",), f"an order's total is at most {money.money(MAX_TOTAL)}"
            )
        _check_stock(items)
        lines = tuple(_line(product, quantity) for product, quantity in items)
        wanted: dict[str, int] = {}
        products: dict[str, Product] = {}
        for product, quantity in items:
            wanted[product.id] = wanted.get(product.id, 0) + quantity
            products[product.id] = product
        reserved = tuple(
            products[pid].reserve(quantity, order_id=id) for pid, quantity in wanted.items()
        )
        order = cls(id=id, customer=customer, lines=lines, status=OrderStatus.PLACED, placed_at=now)
        placed = OrderPlaced(aggregate_id=id, customer=customer, lines=lines, placed_at=now)
        return order, placed, reserved

    def cancel(self, *, now: datetime) -> OrderCancelled:
        """Marks the order cancelled; the caller returns each line's units to its product."""
        if self.status is OrderStatus.CANCELLED:
            raise InvalidStateError(f"order {self.id!r} is already cancelled")
        self.status = OrderStatus.CANCELLED
        self.cancelled_at = now
        self._changed()
        return OrderCancelled(
            aggregate_id=self.id, customer=self.customer, lines=self.lines, cancelled_at=now
        )

    def returned_units(self) -> dict[str, int]:
        """Units per product that cancelling gives back, in the order of the lines."""
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.product_id] = units.get(line.product_id, 0) + line.quantity
        return units


def _check_stock(items: Sequence[tuple[Product, int]]) -> None:
    """Raises InsufficientStockError for the first product short of its lines' total."""
    wanted: dict[str, int] = {}
    for product, quantity in items:
        wanted[product.id] = wanted.get(product.id, 0) + quantity
        if wanted[product.id] > product.stock:
            raise InsufficientStockError(
                product_id=product.id,
                product_name=product.name,
                requested=wanted[product.id],
                available=product.stock,
            )


def _line(product: Product, quantity: int) -> OrderLine:
    return OrderLine(
        product_id=product.id,
        product_name=product.name,
        quantity=quantity,
        unit_price=product.price,
    )
