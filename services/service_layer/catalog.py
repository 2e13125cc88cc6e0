"""Commands on the catalog: create categories and products, reprice and restock products."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from outbox import transactional
from services.domain.catalog import Category, Product
from services.domain.errors import UnknownReferenceError
from services.service_layer.recording import record_events
from services.store import catalog as store
from services.store.ids import new_id


@transactional()
async def create_category(*, name: str, description: str = "") -> Category:
    category, created = Category.create(id=new_id(), name=name, description=description)
    await store.add_category(category)
    await record_events((created, category))
    return category


@transactional()
async def create_product(*, name: str, price: Decimal, category_id: str, stock: int) -> Product:
    if not await store.category_exists(category_id):
        raise UnknownReferenceError(("category_id",), "category", category_id)
    product, created = Product.create(
        id=new_id(), name=name, price=price, category_id=category_id, stock=stock
    )
    await store.add_product(product)
    await record_events((created, product))
    return product


@transactional()
async def change_price(
    *, product_id: str, price: Decimal, expected_versions: Collection[int] | None = None
) -> Product:
    """Sets a new price; the same price again changes nothing and records nothing."""
    product = await store.get_product(product_id)
    product.ensure_version(expected_versions)
    previous = product.version
    if changed := product.change_price(price):
        await store.save_product(product, previous_version=previous)
        await record_events((changed, product))
    return product


@transactional()
async def restock_product(
    *, product_id: str, quantity: int, expected_versions: Collection[int] | None = None
) -> Product:
    product = await store.get_product(product_id)
    product.ensure_version(expected_versions)
    previous = product.version
    restocked = product.restock(quantity)
    await store.save_product(product, previous_version=previous)
    await record_events((restocked, product))
    return product
