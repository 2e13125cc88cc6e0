"""Commands on orders: place one (reserving stock) and cancel one (returning it)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager

from outbox import transactional, utc_now
from services.domain.catalog import Product
from services.domain.errors import UnknownReferenceError
from services.domain.orders import Order
from services.service_layer.recording import record_events
from services.service_layer.turns import Turns
from services.store import catalog as catalog_store
from services.store import orders as store
from services.store.ids import new_id

_product_turns = Turns()


def turn_of_products(product_ids: Iterable[str]) -> AbstractAsyncContextManager[None]:
    """Hold around a whole order transaction: orders of one product take turns (see turns)."""
    return _product_turns.taking(product_ids)


@transactional()
async def place_order(*, customer: str, items: Sequence[tuple[str, int]]) -> Order:
    """Places an order for `items` (product id, quantity); all lines are reserved, or none.

    Each product's reservation is an event of that product, recorded with the order's.
    """
    products = await catalog_store.products_by_id(product_id for product_id, _ in items)
    read_at = {product.id: product.version for product in products.values()}
    order, placed, reserved = Order.place(
        id=new_id(), customer=customer, items=_with_products(items, products), now=utc_now()
    )
    # Written only if nobody changed the products since they were read, so stock cannot go
    # negative even where reads are not isolated from other writers.
    await catalog_store.save_products(
        [(products[r.aggregate_id], read_at[r.aggregate_id]) for r in reserved]
    )
    await store.add_order(order)
    await record_events((placed, order), *((r, products[r.aggregate_id]) for r in reserved))
    return order


def _with_products(
    items: Sequence[tuple[str, int]], products: dict[str, Product]
) -> list[tuple[Product, int]]:
    """Pairs each line with its product (one object per product, shared by its lines)."""
    pairs = []
    for index, (product_id, quantity) in enumerate(items):
        product = products.get(product_id)
        if product is None:
            raise UnknownReferenceError(("items", index, "product_id"), "product", product_id)
        pairs.append((product, quantity))
    return pairs


@transactional()
async def cancel_order(*, order_id: str, expected_versions: Collection[int] | None = None) -> Order:
    """Cancels a placed order and returns every line's units to stock, up to its cap."""
    order = await store.get_order(order_id)
    order.ensure_version(expected_versions)
    previous = order.version
    cancelled = order.cancel(now=utc_now())
    await store.save_order(order, previous_version=previous)
    returned = order.returned_units()
    products = await catalog_store.products_by_id(returned)
    releases, saved = [], []
    for product_id, quantity in returned.items():
        product = products[product_id]
        read_at = product.version
        releases.append((product.release(quantity, order_id=order.id), product))
        saved.append((product, read_at))
    await catalog_store.save_products(saved)
    await record_events((cancelled, order), *releases)
    return order
