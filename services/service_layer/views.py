"""Queries: read the current state of aggregates and their history of events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox import OutboxEvent
from services.domain.aggregate import Aggregate
from services.domain.catalog import Category, Product
from services.domain.orders import Order
from services.store import catalog as catalog_store
from services.store import orders as orders_store
from services.store import outbox as outbox_store


async def get_category(category_id: str) -> Category:
    return await catalog_store.get_category(category_id)


async def get_product(product_id: str) -> Product:
    return await catalog_store.get_product(product_id)


async def list_products(*, category_id: str | None, after: str | None, limit: int) -> list[Product]:
    return await catalog_store.list_products(category_id=category_id, after=after, limit=limit)


async def get_order(order_id: str) -> Order:
    return await orders_store.get_order(order_id)


_LOADERS: dict[str, Callable[[str], Awaitable[Aggregate]]] = {
    "category": get_category,
    "product": get_product,
    "order": get_order,
}


async def aggregate_events(*, aggregate_type: str, aggregate_id: str) -> list[OutboxEvent]:
    """The aggregate's events in version order; NotFoundError when the aggregate is unknown."""
    aggregate = await _LOADERS[aggregate_type](aggregate_id)
    return await outbox_store.events_of(aggregate_type, aggregate.id)
