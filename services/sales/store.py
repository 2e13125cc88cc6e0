"""Applies SalesChanges in the bound transaction of the consumer (or of a rebuild's chunk).

Every figure is a MongoDB int64. The touched documents are read, every running sum is
computed and checked, and the documents are written back whole, in the same transaction (a
concurrent write conflicts and retries): a change that would leave int64 is refused as a
poison message, so a figure never overflows into a float.

The documents live in the generation the consumer (or a rebuild) bound for the transaction
(`outbox.consumer.generations`); reads find the active generation through its pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beanie import Document

from outbox.consumer import PoisonMessageError, generations
from services.sales.documents import CONSUMER, CustomerSales, ProductSales
from services.sales.projection import SalesChange, to_cents

INT64 = range(-(2**63), 2**63)
Increments = dict[str, dict[str, int]]
"""Per document key, the amount to add to each field."""


class FigureOverflowError(PoisonMessageError):
    """The change would take a figure out of int64: the message is never applied."""


def increments(change: SalesChange) -> tuple[Increments, Increments]:
    """What `change` adds, per product and per customer."""
    products = {
        product.product_id: {
            "units_sold": product.units,
            "revenue_cents": to_cents(product.revenue),
        }
        for product in change.products
    }
    customer = change.customer
    customers = {
        customer.customer: {
            "orders": customer.orders,
            "placed": customer.placed,
            "cancelled": customer.cancelled,
            "spent_cents": to_cents(customer.spent),
        }
    }
    return products, customers


async def apply(change: SalesChange) -> None:
    """Adds `change` to the figures; each document is created at zero when first touched."""
    await apply_all([change])


async def apply_all(changes: Sequence[SalesChange]) -> None:
    """Adds the changes in order with one bulk write per collection; every running sum is
    checked (FigureOverflowError names the first that leaves int64)."""
    steps = [increments(change) for change in changes]
    for index, document in enumerate((ProductSales, CustomerSales)):
        await _add_all(document, [step[index] for step in steps])


async def _add_all(document: type[Document], steps: Sequence[Increments]) -> None:
    collection = generations.collection(document)
    keys = sorted({key for step in steps for key in step})
    if not keys:
        return
    found = collection.find({"_id": {"$in": keys}})
    figures: dict[str, dict[str, Any]] = {doc["_id"]: doc async for doc in found}
    existing = set(figures)
    for step in steps:
        for key, fields in step.items():
            current = figures.setdefault(key, {"_id": key})
            for field, delta in fields.items():
                value = current.get(field, 0)
                if type(value) is not int or value + delta not in INT64:
                    raise FigureOverflowError(
                        f"{document.__name__} {key!r}: {field} {value!r} + {delta} leaves int64"
                    )
                current[field] = value + delta
    # The touched documents are written whole, as this transaction computed them: one delete
    # and one insert per collection (a concurrent write to one of them conflicts, and the
    # transaction retries). Per-document `$inc` upserts cost several times more on the dev
    # database, which runs each on its own.
    if existing:
        await collection.delete_many({"_id": {"$in": sorted(existing)}})
    await collection.insert_many([figures[key] for key in keys], ordered=False)


async def _read[D: Document](document: type[D], key: str) -> D | None:
    """`key`'s figures in the active generation; the pointer is read again when they are
    missing, in case a switch dropped the generation between the two reads."""
    database = document.get_pymongo_collection().database
    generation = await generations.active(database, CONSUMER)
    while True:
        with generations.bound(generation):
            found = await generations.collection(document).find_one({"_id": key})
        if found is not None:
            figures: D = document.model_validate(found)
            return figures
        now = await generations.active(database, CONSUMER)
        if now == generation:
            return None
        generation = now


async def product(product_id: str) -> ProductSales | None:
    return await _read(ProductSales, product_id)


async def customer(name: str) -> CustomerSales | None:
    return await _read(CustomerSales, name)
