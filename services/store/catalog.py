"""Categories and products: reads, inserts, and the atomic stock updates orders rely on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from beanie import PydanticObjectId, SortDirection

import outbox
from services.domain.catalog import Category, Product
from services.domain.errors import ConcurrentUpdateError
from services.domain.money import money
from services.store.documents import CategoryDocument, ProductDocument
from services.store.ids import load, object_id


def category_from(doc: CategoryDocument) -> Category:
    return Category(id=str(doc.id), name=doc.name, description=doc.description, version=doc.version)


def product_from(doc: ProductDocument) -> Product:
    return Product(
        id=str(doc.id),
        name=doc.name,
        price=Decimal(doc.price),
        category_id=doc.category_id,
        stock=doc.stock,
        version=doc.version,
    )


def _product_of(raw: Mapping[str, Any]) -> Product:
    """A product from its stored document, as `product_from` reads a ProductDocument."""
    return Product(
        id=str(raw["_id"]),
        name=raw["name"],
        price=Decimal(raw["price"]),
        category_id=raw["category_id"],
        stock=raw["stock"],
        version=raw["version"],
    )


async def add_category(category: Category) -> None:
    await CategoryDocument(
        id=PydanticObjectId(category.id),
        name=category.name,
        description=category.description,
        version=category.version,
    ).insert()


async def get_category(category_id: str) -> Category:
    return category_from(await load(CategoryDocument, "category", category_id))


async def category_exists(category_id: str) -> bool:
    oid = object_id(category_id)
    return oid is not None and await CategoryDocument.find_one({"_id": oid}) is not None


async def add_product(product: Product) -> None:
    await ProductDocument(
        id=PydanticObjectId(product.id),
        name=product.name,
        price=money(product.price),
        category_id=product.category_id,
        stock=product.stock,
        version=product.version,
    ).insert()


async def get_product(product_id: str) -> Product:
    return product_from(await load(ProductDocument, "product", product_id))


async def products_by_id(product_ids: Iterable[str]) -> dict[str, Product]:
    """The products that exist among `product_ids`, by id; unknown or malformed ids are absent."""
    oids = {oid for pid in product_ids if (oid := object_id(pid)) is not None}
    if not oids:
        return {}
    # Plain pymongo: orders read their products on every command, Beanie's models cost more.
    found = ProductDocument.get_pymongo_collection().find({"_id": {"$in": sorted(oids)}})
    return {str(raw["_id"]): _product_of(raw) async for raw in found}


async def list_products(*, category_id: str | None, after: str | None, limit: int) -> list[Product]:
    """Products in id (creation) order, after the id `after`; keyset paging stays fast."""
    query: dict[str, object] = {}
    if category_id is not None:
        query["category_id"] = category_id
    if after is not None and (oid := object_id(after)) is not None:
        query["_id"] = {"$gt": oid}
    docs = (
        await ProductDocument.find(query)
        .sort([("_id", SortDirection.ASCENDING)])
        .limit(limit)
        .to_list()
    )
    return [product_from(doc) for doc in docs]


async def save_product(product: Product, *, previous_version: int) -> None:
    """Writes a changed product, if nobody changed it since it was read at `previous_version`."""
    await save_products([(product, previous_version)])


async def save_products(changed: Sequence[tuple[Product, int]]) -> None:
    """Writes changed products (each with the version it was read at) with the transaction's
    other queued writes, each only if nobody changed it since; else ConcurrentUpdateError, and
    the transaction that wrote the others does not commit."""
    if not changed:
        return
    names = ", ".join(repr(product.id) for product, _ in changed)

    def changed_meanwhile() -> ConcurrentUpdateError:
        # Inside a MongoDB transaction a concurrent write is a retried write conflict instead.
        return ConcurrentUpdateError(f"one of the products {names} changed while being updated")

    collection = ProductDocument.get_pymongo_collection()
    for product, previous_version in changed:
        selector, update = _saved(product, previous_version)
        await outbox.update_later(collection, selector, update, or_else=changed_meanwhile)


def _saved(product: Product, previous_version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update that write `product` only at the version it was read."""
    return (
        {"_id": PydanticObjectId(product.id), "version": previous_version},
        {
            "$set": {
                "name": product.name,
                "price": money(product.price),
                "stock": product.stock,
                "version": product.version,
            }
        },
    )
