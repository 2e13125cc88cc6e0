"""Applies a SalesChange with `$inc` upserts, in the bound transaction of the consumer."""

from __future__ import annotations

from pymongo import UpdateOne

from services.sales.documents import CustomerSales, ProductSales
from services.sales.projection import SalesChange, to_cents


async def apply(change: SalesChange) -> None:
    """Adds `change` to the figures; each document is created at zero when first touched."""
    await ProductSales.get_pymongo_collection().bulk_write(
        [
            UpdateOne(
                {"_id": product.product_id},
                {"$inc": {"units_sold": product.units, "revenue_cents": to_cents(product.revenue)}},
                upsert=True,
            )
            for product in change.products
        ],
        ordered=True,
    )
    customer = change.customer
    await CustomerSales.get_pymongo_collection().update_one(
        {"_id": customer.customer},
        {
            "$inc": {
                "orders": customer.orders,
                "placed": customer.placed,
                "cancelled": customer.cancelled,
                "spent_cents": to_cents(customer.spent),
            }
        },
        upsert=True,
    )


async def product(product_id: str) -> ProductSales | None:
    return await ProductSales.get(product_id)


async def customer(name: str) -> CustomerSales | None:
    return await CustomerSales.get(name)
