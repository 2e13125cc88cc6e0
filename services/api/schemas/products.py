"""Products: a price (a decimal string, never a float) and a stock of units."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from services.api.schemas.categories import Name
from services.api.schemas.common import ObjectIdStr
from services.domain.catalog import STOCK_MAX, Product
from services.domain.money import money

Price = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=10,
        decimal_places=2,
        description="A decimal above 0 with at most 2 places; send it as a string.",
        examples=["12.50"],
    ),
]
# Strict: "5", 5.0 and true are type errors, not quantities.
Stock = Annotated[int, Field(strict=True, ge=0, le=STOCK_MAX)]
Quantity = Annotated[int, Field(strict=True, gt=0, le=STOCK_MAX)]

_PRODUCT: dict[str, JsonValue] = {
    "name": "Espresso mug",
    "price": "12.50",
    "category_id": "6650f1c2a4b5c6d7e8f90123",
    "stock": 40,
}


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PRODUCT]})

    name: Name
    price: Price
    category_id: ObjectIdStr
    stock: Stock


class PriceChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"price": "9.90"}]})

    price: Price


class Restock(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 25}]})

    quantity: Quantity


class ProductPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "6650f1c2a4b5c6d7e8f90456", **_PRODUCT, "version": 1}]
        }
    )

    id: str
    name: str
    price: str = Field(description='A decimal string with 2 places, e.g. "12.50".')
    category_id: str
    stock: int
    version: int

    @classmethod
    def of(cls, product: Product) -> ProductPublic:
        return cls(
            id=product.id,
            name=product.name,
            price=money(product.price),
            category_id=product.category_id,
            stock=product.stock,
            version=product.version,
        )


class ProductPage(BaseModel):
    items: list[ProductPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
