"""The projection's documents, one per product and per customer; money in integer cents."""

from __future__ import annotations

from beanie import Document

CONSUMER = "sales"
"""The consumer's name: its queue, its inbox key, and its generation pointer's id."""
PRODUCTS, CUSTOMERS = "sales_products", "sales_customers"
COLLECTIONS = (PRODUCTS, CUSTOMERS)
"""Generation 0's collections; generation N's are `<name>_g<N>` (outbox.consumer.generations)."""


class ProductSales(Document):
    """Units sold and revenue of one product, over the orders that stand."""

    id: str  # type: ignore[assignment]  # the product id
    units_sold: int = 0
    revenue_cents: int = 0

    class Settings:
        name = PRODUCTS


class CustomerSales(Document):
    """Orders of one customer: standing (placed minus cancelled), placed, cancelled, spent."""

    id: str  # type: ignore[assignment]  # the customer's name
    orders: int = 0
    placed: int = 0
    cancelled: int = 0
    spent_cents: int = 0

    class Settings:
        name = CUSTOMERS


DOCUMENT_MODELS: list[type[Document]] = [ProductSales, CustomerSales]
