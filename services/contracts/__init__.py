"""Event payload contracts: one pydantic model per event type, shared by both sides.

The domain builds each event's payload through its model (`model_dump(mode="json")`), and a
consumer validates what it receives with the same model (`Handlers.on(type, payload=model)`),
so a payload the publisher could not have written is refused as `invalid-payload`. This
package imports only pydantic and the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel

from services.contracts.catalog import (
    CategoryCreatedPayload,
    ProductCreatedPayload,
    ProductPriceChangedPayload,
    ProductRestockedPayload,
    ProductStockCappedPayload,
    ProductStockReleasedPayload,
    ProductStockReservedPayload,
)
from services.contracts.orders import (
    OrderCancelledPayload,
    OrderLinePayload,
    OrderLinesPayload,
    OrderPlacedPayload,
)

PAYLOADS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "category.created": CategoryCreatedPayload,
        "product.created": ProductCreatedPayload,
        "product.price_changed": ProductPriceChangedPayload,
        "product.restocked": ProductRestockedPayload,
        "product.stock_reserved": ProductStockReservedPayload,
        "product.stock_released": ProductStockReleasedPayload,
        "product.stock_capped": ProductStockCappedPayload,
        "order.placed": OrderPlacedPayload,
        "order.cancelled": OrderCancelledPayload,
    }
)
"""Event type → the model of its payload."""

__all__ = [
    "PAYLOADS",
    "CategoryCreatedPayload",
    "OrderCancelledPayload",
    "OrderLinePayload",
    "OrderLinesPayload",
    "OrderPlacedPayload",
    "ProductCreatedPayload",
    "ProductPriceChangedPayload",
    "ProductRestockedPayload",
    "ProductStockCappedPayload",
    "ProductStockReleasedPayload",
    "ProductStockReservedPayload",
]
