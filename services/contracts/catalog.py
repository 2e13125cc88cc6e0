"""Payloads of the catalog's events: `category.created` and the `product.*` events."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from services.contracts.fields import Description, Id, Name, Price, Stock, Units

PAYLOAD = ConfigDict(frozen=True, extra="ignore")
"""Every payload model: frozen; unknown fields are ignored (an added field stays compatible)."""


class CategoryCreatedPayload(BaseModel):
    model_config = PAYLOAD

    category_id: Id
    name: Name
    description: Description


class ProductCreatedPayload(BaseModel):
    model_config = PAYLOAD

    product_id: Id
    name: Name
    price: Price
    category_id: Id
    stock: Stock


class ProductPriceChangedPayload(BaseModel):
    model_config = PAYLOAD

    product_id: Id
    old_price: Price
    new_price: Price


class ProductRestockedPayload(BaseModel):
    model_config = PAYLOAD

    product_id: Id
    quantity: Units
    stock: Stock


class OrderStockChangePayload(BaseModel):
    """An order took or gave back `quantity` units; `stock` is the stock after it."""

    model_config = PAYLOAD

    product_id: Id
    order_id: Id
    quantity: Units
    stock: Stock


class ProductStockReservedPayload(OrderStockChangePayload):
    """An order took `quantity` units; `stock` is what is left."""


class ProductStockReleasedPayload(OrderStockChangePayload):
    """A cancelled order gave its `quantity` units back; `stock` is the stock after it."""


class ProductStockCappedPayload(BaseModel):
    """A cancelled order returned `returned` units; `dropped` of them did not fit under the cap."""

    model_config = PAYLOAD

    product_id: Id
    order_id: Id
    returned: Units
    dropped: Units
    stock: Stock

    @model_validator(mode="after")
    def _dropped_of_returned(self) -> ProductStockCappedPayload:
        if self.dropped > self.returned:
            raise ValueError("dropped exceeds returned")
        return self
