"""Applies a SalesChange with `$inc` upserts, in the bound transaction of the consumer.

Every figure is a MongoDB int64. Each sum is computed and checked before its `$inc`, in the
same transaction (a concurrent write conflicts and retries): a change that would leave int64
is refused as a poison message, so a figure never overflows into a float.
"""

from __future__ import annotations

from typing import Any

from beanie import Document

from outbox.consumer import PoisonMessageError
from services.sales.documents import CustomerSales, ProductSales
from services.sales.projection import SalesChange, to_cents

INT64 = range(-(2**63), 2**63)


class FigureOverflowError(PoisonMessageError):
    """The change would take a figure out of int64: the message is never applied."""


async def apply(change: SalesChange) -> None:
    """Adds `change` to the figures; each document is created at zero when first touched."""
    for product in change.products:
        await _add(
            ProductSales,
            product.product_id,
            {"units_sold": product.units, "revenue_cents": to_cents(product.revenue)},
        )
    customer = change.customer
    await _add(
        CustomerSales,
        customer.customer,
        {
            "orders": customer.orders,
            "placed": customer.placed,
            "cancelled": customer.cancelled,
            "spent_cents": to_cents(customer.spent),
        },
    )


async def _add(document: type[Document], key: str, increments: dict[str, int]) -> None:
    collection = document.get_pymongo_collection()
    current: dict[str, Any] = await collection.find_one({"_id": key}, list(increments)) or {}
    for field, delta in increments.items():
        value = current.get(field, 0)
        if type(value) is not int or value + delta not in INT64:
            raise FigureOverflowError(
                f"{document.__name__} {key!r}: {field} {value!r} + {delta} leaves int64"
            )
    await collection.update_one({"_id": key}, {"$inc": increments}, upsert=True)


async def product(product_id: str) -> ProductSales | None:
    return await ProductSales.get(product_id)


async def customer(name: str) -> CustomerSales | None:
    return await CustomerSales.get(name)
