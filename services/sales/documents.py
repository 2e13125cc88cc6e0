"""The projection's documents, one per product and per customer; money in integer cents."""

from __future__ import annotations

from beanie import Document


class ProductSales(Document):
    """Units sold and revenue of one product, over the orders that stand."""

    id: str  # type: ignore[assignment]  # the product id
    units_sold: int = 0
    revenue_cents: int = 0

    class Settings:
        name = "sales_products"


class CustomerSales(Document):
    """Orders of one customer: standing (placed minus cancelled), placed, cancelled, spent."""

    id: str  # type: ignore[assignment]  # the customer's name
    orders: int = 0
    placed: int = 0
    cancelled: int = 0
    spent_cents: int = 0

    class Settings:
        name = "sales_customers"


DOCUMENT_MODELS: list[type[Document]] = [ProductSales, CustomerSales]
