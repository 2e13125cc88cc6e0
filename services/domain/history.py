"""Every aggregate's state is a fold of its events: `apply(state, event) -> state`, no I/O.

An aggregate's events are numbered 1..n; `apply` refuses an event whose version is not the next
one, so the state folded from a history also proves the history has no gap and no duplicate.
The payloads are read through their contracts, the same models that wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from services.contracts import catalog as catalog_contract
from services.contracts import orders as orders_contract
from services.domain.aggregate import Aggregate, DomainEvent
from services.domain.catalog import Category, Product
from services.domain.errors import DomainError
from services.domain.orders import Order, OrderLine, OrderStatus


class HistoryError(DomainError):
    """Events that no sequence of commands could have recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedEvent:
    """An event as the event store keeps it: type, whose, which version, when, and its body."""

    type: str
    aggregate_id: str
    version: int
    occurred_at: datetime
    payload: Mapping[str, Any]


def _read[M: BaseModel](model: type[M], body: Mapping[str, Any], event: RecordedEvent) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as e:
        where = f"{event.type} {event.aggregate_id} v{event.version}"
        raise HistoryError(f"{where}: payload does not match its contract: {e}") from None


def _next[A: Aggregate](state: A | None, event: RecordedEvent, kind: str) -> A:
    if state is None:
        raise HistoryError(f"{kind} {event.aggregate_id}: {event.type} before {kind}.created")
    if event.version != state.version + 1:
        raise HistoryError(
            f"{kind} {event.aggregate_id}: version {event.version} follows {state.version}"
        )
    return replace(state, version=event.version)


def _first(state: Aggregate | None, event: RecordedEvent, kind: str) -> None:
    if state is not None or event.version != 1:
        raise HistoryError(f"{kind} {event.aggregate_id}: {event.type} at version {event.version}")


def apply_category(state: Category | None, event: RecordedEvent) -> Category:
    if event.type != "category.created":
        raise HistoryError(f"category {event.aggregate_id}: unknown event {event.type}")
    _first(state, event, "category")
    created = _read(catalog_contract.CategoryCreatedPayload, event.payload, event)
    return Category(id=event.aggregate_id, name=created.name, description=created.description)


def apply_product(state: Product | None, event: RecordedEvent) -> Product:
    body = event.payload
    match event.type:
        case "product.created":
            _first(state, event, "product")
            created = _read(catalog_contract.ProductCreatedPayload, body, event)
            return Product(
                id=event.aggregate_id,
                name=created.name,
                price=created.price,
                category_id=created.category_id,
                stock=created.stock,
            )
        case "product.price_changed":
            changed = _read(catalog_contract.ProductPriceChangedPayload, body, event)
            return replace(_next(state, event, "product"), price=changed.new_price)
        case "product.restocked":
            restocked = _read(catalog_contract.ProductRestockedPayload, body, event)
            product = _next(state, event, "product")
            return replace(product, stock=product.stock + restocked.quantity)
        case "product.stock_reserved":
            reserved = _read(catalog_contract.ProductStockReservedPayload, body, event)
            product = _next(state, event, "product")
            return replace(product, stock=product.stock - reserved.quantity)
        case "product.stock_released":
            released = _read(catalog_contract.ProductStockReleasedPayload, body, event)
            product = _next(state, event, "product")
            return replace(product, stock=product.stock + released.quantity)
        case "product.stock_capped":
            capped = _read(catalog_contract.ProductStockCappedPayload, body, event)
            product = _next(state, event, "product")
            return replace(product, stock=product.stock + capped.returned - capped.dropped)
    raise HistoryError(f"product {event.aggregate_id}: unknown event {event.type}")


def apply_order(state: Order | None, event: RecordedEvent) -> Order:
    match event.type:
        case "order.placed":
            _first(state, event, "order")
            placed = _read(orders_contract.OrderPlacedPayload, event.payload, event)
            return Order(
                id=event.aggregate_id,
                customer=placed.customer,
                lines=tuple(
                    OrderLine(
                        product_id=line.product_id,
                        product_name=line.product_name,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                    for line in placed.items
                ),
                status=OrderStatus.PLACED,
                placed_at=placed.placed_at or event.occurred_at,
            )
        case "order.cancelled":
            cancelled = _read(orders_contract.OrderCancelledPayload, event.payload, event)
            order = _next(state, event, "order")
            if order.status is OrderStatus.CANCELLED:
                raise HistoryError(f"order {event.aggregate_id}: cancelled twice")
            return replace(
                order,
                status=OrderStatus.CANCELLED,
                cancelled_at=cancelled.cancelled_at or event.occurred_at,
            )
    raise HistoryError(f"order {event.aggregate_id}: unknown event {event.type}")


APPLY: Mapping[str, Callable[[Any, RecordedEvent], Aggregate]] = {
    "category": apply_category,
    "product": apply_product,
    "order": apply_order,
}
"""Aggregate type → its `apply`."""


def fold(aggregate_type: str, events: Iterable[RecordedEvent]) -> Aggregate:
    """The state an aggregate's events (in version order) lead to; HistoryError if none can."""
    try:
        apply = APPLY[aggregate_type]
    except KeyError:
        raise HistoryError(f"unknown aggregate type {aggregate_type!r}") from None
    state: Aggregate | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise HistoryError(f"{aggregate_type}: no events")
    return state


def event_types() -> set[str]:
    """Every `<aggregate_type>.<name>` the domain can record: one per concrete DomainEvent."""

    def subclasses(cls: type[Any]) -> list[type[Any]]:
        return [sub for direct in cls.__subclasses__() for sub in [direct, *subclasses(direct)]]

    return {
        f"{cls.aggregate_type}.{cls.name}"
        for cls in subclasses(DomainEvent)
        if isinstance(getattr(cls, "name", None), str)
    }
