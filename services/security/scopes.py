"""The scopes a token may carry, and what each lets its holder do."""

from __future__ import annotations

from typing import Final

CATALOG_WRITE: Final = "catalog:write"
ORDERS_WRITE: Final = "orders:write"
ORDERS_READ: Final = "orders:read"
ORDERS_ADMIN: Final = "orders:admin"
EVENTS_READ: Final = "events:read"
SALES_READ: Final = "sales:read"
METRICS_READ: Final = "metrics:read"

SCOPES: Final[dict[str, str]] = {
    CATALOG_WRITE: "Create categories and products, change prices, restock.",
    ORDERS_WRITE: "Place and cancel your own orders (the token's subject is the customer).",
    ORDERS_READ: "Read your own orders.",
    ORDERS_ADMIN: "Read, place and cancel any customer's orders.",
    EVENTS_READ: "Read the event history of any aggregate.",
    SALES_READ: "Read the sales projection of `boundbox consume sales`.",
    METRICS_READ: "Read the Prometheus metrics at /metrics.",
}
"""Every scope with its description (shown in OpenAPI)."""

ADMIN_SCOPES: Final = tuple(SCOPES)
"""Every scope: what the dev banner's admin token carries."""

CUSTOMER_SCOPES: Final = (ORDERS_WRITE, ORDERS_READ)
"""What a customer's token carries: their own orders."""
