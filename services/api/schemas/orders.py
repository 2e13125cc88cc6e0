"""Orders: 1 to 100 items, each reserving units of a product at its current price."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.schemas.common import ObjectIdStr
from services.domain.money import money
from services.domain.orders import CUSTOMER_MAX, MAX_LINES, MAX_QUANTITY, Order, OrderStatus

Customer = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CUSTOMER_MAX)
]


class OrderItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ObjectIdStr
    quantity: Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY)]


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": "ada@example.com",
                    "items": [{"product_id": "6650f1c2a4b5c6d7e8f90456", "quantity": 2}],
                }
            ]
        },
    )

    customer: Customer
    items: Annotated[list[OrderItemCreate], Field(min_length=1, max_length=MAX_LINES)]


class OrderLinePublic(BaseModel):
    product_id: str
    product_name: str
    quantity: int
    unit_price: str = Field(description="The product's price when the order was placed.")
    line_total: str


class OrderPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6650f1c2a4b5c6d7e8f90789",
                    "customer": "ada@example.com",
                    "status": "placed",
                    "items": [
                        {
                            "product_id": "6650f1c2a4b5c6d7e8f90456",
                            "product_name": "Espresso mug",
                            "quantity": 2,
                            "unit_price": "12.50",
                            "line_total": "25.00",
                        }
                    ],
                    "total": "25.00",
                    "placed_at": "2026-11-25T20:00:00Z",
                    "cancelled_at": None,
                    "version": 1,
                }
            ]
        }
    )

    id: str
    customer: str
    status: OrderStatus
    items: list[OrderLinePublic]
    total: str
    placed_at: datetime
    cancelled_at: datetime | None
    version: int

    @classmethod
    def of(cls, order: Order) -> OrderPublic:
        return cls(
            id=order.id,
            customer=order.customer,
            status=order.status,
            items=[OrderLinePublic.model_validate(line.as_json()) for line in order.lines],
            total=money(order.total),
            placed_at=order.placed_at,
            cancelled_at=order.cancelled_at,
            version=order.version,
        )
