"""The field types of event payloads: bounded strings, bounded ints, and exact amounts.

An amount travels as a decimal string ("12.50"), never as a number: at most 13 digits before
the point and 2 after, at most 10^12. The string is checked by a regular expression before
`Decimal` sees it, so no exponent form ("1E+400000") ever reaches decimal arithmetic.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

ID_MAX = 64  # an id as the API returns it (24 hex digits), with room
NAME_MAX = 200
DESCRIPTION_MAX = 2000
CUSTOMER_MAX = 200
STOCK_MAX = 1_000_000_000
MAX_QUANTITY = 1_000_000
MAX_LINES = 100
AMOUNT_MAX = Decimal(10**12)

CENT = Decimal("0.01")
_AMOUNT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


def _amount(value: object) -> Decimal:
    if isinstance(value, Decimal):  # built by the publishing side: bounded before any rounding
        if value.is_finite() and 0 <= value <= AMOUNT_MAX and value == value.quantize(CENT):
            return value
        raise PydanticCustomError("amount", "an amount is 0 to 10^12 with at most 2 places")
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise PydanticCustomError("amount", 'an amount is a string of digits like "12.50"')
    amount = Decimal(value)
    if amount > AMOUNT_MAX:
        raise PydanticCustomError("amount", "an amount is at most 10^12")
    return amount


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise PydanticCustomError("price", "a price is above 0")
    return amount


def wire(amount: Decimal) -> str:
    """The wire form of an amount: `"12.50"`, always two places, never an exponent."""
    return f"{amount.quantize(CENT):f}"


Amount = Annotated[
    Decimal,
    PlainValidator(_amount),
    PlainSerializer(wire, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": f"^{_AMOUNT.pattern}$", "examples": ["12.50"]}),
]
Price = Annotated[Amount, AfterValidator(_positive)]

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
Customer = Annotated[str, StringConstraints(min_length=1, max_length=CUSTOMER_MAX)]

# Strict: true, 5.0 and "5" are not counts.
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
Units = Annotated[int, Field(strict=True, ge=1, le=STOCK_MAX)]
Stock = Annotated[int, Field(strict=True, ge=0, le=STOCK_MAX)]
