"""The sales figures as values: what the events say they must be, and what is stored.

For an audit: `expected_figures(events)` folds order events with the projection's own
arithmetic (`services.sales.projection`), `await stored_figures(database)` reads the active
generation of the projection; both give `Figures`, to compare per product and customer field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from outbox.consumer.generations import active
from services.contracts import OrderCancelledPayload, OrderLinesPayload, OrderPlacedPayload
from services.sales.documents import CONSUMER, CUSTOMERS, PRODUCTS
from services.sales.projection import SalesChange, cancelled, placed, to_cents

CHANGES: dict[str, tuple[type[OrderLinesPayload], Callable[[OrderLinesPayload], SalesChange]]] = {
    "order.placed": (OrderPlacedPayload, placed),
    "order.cancelled": (OrderCancelledPayload, cancelled),
}
"""Per event type, its payload contract (the consumer's) and what it changes."""


@dataclass(frozen=True, slots=True)
class ProductFigures:
    units_sold: int = 0
    revenue_cents: int = 0


@dataclass(frozen=True, slots=True)
class CustomerFigures:
    orders: int = 0
    placed: int = 0
    cancelled: int = 0
    spent_cents: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    """Per product id and per customer name; a key is present once an event touched it."""

    products: dict[str, ProductFigures] = field(default_factory=dict)
    customers: dict[str, CustomerFigures] = field(default_factory=dict)


class OrderEvent(Protocol):
    """An event with its full type ("order.placed") and payload (e.g. RecordedEvent)."""

    @property
    def type(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


def _change(event: OrderEvent | Mapping[str, Any]) -> SalesChange | None:
    kind, payload = (
        (event.get("type"), event.get("payload"))
        if isinstance(event, Mapping)
        else (event.type, event.payload)
    )
    if str(kind) not in CHANGES:
        return None
    model, change = CHANGES[str(kind)]
    try:
        return change(model.model_validate(payload))
    except ValidationError:
        return None  # the consumer dead-letters it: it never counts


class Tally:
    """Figures added up event by event: `add` each, read `figures()` at any point."""

    def __init__(self) -> None:
        self._products: dict[str, list[int]] = {}
        self._customers: dict[str, list[int]] = {}

    def add(self, event: OrderEvent | Mapping[str, Any]) -> None:
        """Counts `event` if it changes sales; other types and refused payloads are ignored."""
        change = _change(event)
        if change is None:
            return
        for product in change.products:
            sums = self._products.setdefault(product.product_id, [0, 0])
            sums[0] += product.units
            sums[1] += to_cents(product.revenue)
        who = change.customer
        sums = self._customers.setdefault(who.customer, [0, 0, 0, 0])
        for index, delta in enumerate((who.orders, who.placed, who.cancelled, to_cents(who.spent))):
            sums[index] += delta

    def figures(self) -> Figures:
        return Figures(
            products={key: ProductFigures(*sums) for key, sums in self._products.items()},
            customers={key: CustomerFigures(*sums) for key, sums in self._customers.items()},
        )


def expected_figures(events: Iterable[OrderEvent | Mapping[str, Any]]) -> Figures:
    """The figures the projection must hold after `events` (objects with `type` and `payload`,
    or stored event documents); other types and payloads their contract refuses are ignored."""
    tally = Tally()
    for event in events:
        tally.add(event)
    return tally.figures()


async def stored_figures(database: AsyncDatabase[Any]) -> Figures:
    """The figures of the active generation in the sales `database` (SALES_DB)."""
    generation = await active(database, CONSUMER)
    products = generation.collection(database, PRODUCTS).find()
    customers = generation.collection(database, CUSTOMERS).find()
    return Figures(
        products={
            doc["_id"]: ProductFigures(doc.get("units_sold", 0), doc.get("revenue_cents", 0))
            async for doc in products
        },
        customers={
            doc["_id"]: CustomerFigures(
                doc.get("orders", 0),
                doc.get("placed", 0),
                doc.get("cancelled", 0),
                doc.get("spent_cents", 0),
            )
            async for doc in customers
        },
    )
