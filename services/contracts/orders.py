"""Payloads of `order.placed` and `order.cancelled`: the whole order, both times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from services.contracts.catalog import PAYLOAD
from services.contracts.fields import MAX_LINES, Amount, Customer, Id, Name, Price, Quantity


class OrderLinePayload(BaseModel):
    model_config = PAYLOAD

    product_id: Id
    product_name: Name
    quantity: Quantity
    unit_price: Price
    line_total: Amount

    @model_validator(mode="after")
    def _total_matches(self) -> OrderLinePayload:
        if self.line_total != self.unit_price * self.quantity:
            raise ValueError("line_total is not quantity * unit_price")
        return self


class OrderLinesPayload(BaseModel):
    """What a sales projection needs to add an order, or to subtract it again."""

    model_config = PAYLOAD

    order_id: Id
    customer: Customer
    items: Annotated[tuple[OrderLinePayload, ...], Field(min_length=1, max_length=MAX_LINES)]
    total: Amount

    @model_validator(mode="after")
    def _total_matches(self) -> OrderLinesPayload:
        if self.total != sum((line.line_total for line in self.items), Decimal(0)):
            raise ValueError("total is not the sum of the line totals")
        return self


class OrderPlacedPayload(OrderLinesPayload):
    placed_at: datetime | None = None  # absent from events recorded before it was added


class OrderCancelledPayload(OrderLinesPayload):
    cancelled_at: datetime | None = None  # absent from events recorded before it was added
