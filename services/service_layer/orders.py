"""Commands on orders: place one (reserving stock) and cancel one (returning it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from outbox import transactional, utc_now
from services.domain.catalog import Product
from services.domain.errors import InsufficientStockError, UnknownReferenceError
from services.domain.orders import Order
from services.service_layer.recording import record_events
from services.store import catalog as catalog_store
from services.store import orders as store
from services.store.ids import new_id


@transactional()
async def place_order(*, customer: str, items: Sequence[tuple[str, int]]) -> Order:
    """Places an order for `items` (product id, quantity); all lines are reserved, or none."""
    products = await catalog_store.products_by_id(product_id for product_id, _ in items)
    order, placed = Order.place(
        id=new_id(), customer=customer, items=_with_products(items, products), now=utc_now()
    )
    for line in order.lines:
        # The domain checked the stock it read; the conditional update guarantees it, so
        # stock cannot go negative even where reads are not isolated from other writers.
        if not await catalog_store.reserve_stock(line.product_id, line.quantity):
            current = await catalog_store.get_product(line.product_id)
            raise InsufficientStockError(
                product_id=current.id,
                product_name=current.name,
                requested=line.quantity,
                available=current.stock,
            )
    await store.add_order(order)
    await record_events(placed)
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
    returned = Counter[str]()
    for line in order.lines:
        returned[line.product_id] += line.quantity
    capped = []
    for product in (await catalog_store.products_by_id(returned)).values():
        read_at = product.version
        if event := product.release(returned[product.id], order_id=order.id):
            capped.append(event)
        await catalog_store.save_product(product, previous_version=read_at)
    await record_events(cancelled, *capped)
    return order
