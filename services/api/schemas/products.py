"""Products: a price (a decimal string, never a float) and a stock of units."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, WithJsonSchema
from pydantic_core import PydanticCustomError

from services.api.schemas.categories import Name
from services.api.schemas.common import ObjectIdStr
from services.domain.catalog import STOCK_MAX, Product
from services.domain.money import money

_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def _plain_decimal(value: object) -> object:
    # Decimal() also reads "1e2", " +1_000 " and digits of other scripts ("٣"): not prices.
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value):
        raise PydanticCustomError(
            "decimal_format", 'a price string has ASCII digits and at most one ".", e.g. "12.50"'
        )
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": f"^{_PLAIN_DECIMAL.pattern}$"},
                {"type": "number", "exclusiveMinimum": 0},
            ]
        }
    ),
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
