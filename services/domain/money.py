"""Prices are exact decimals with at most two places, and travel as strings, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from services.domain.errors import FieldPath, InvalidValueError

CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")


def price(value: Decimal | str | int, *, field: FieldPath = ("price",)) -> Decimal:
    """A valid price: finite, above zero, at most two decimal places; quantized to cents."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidValueError(field, f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise InvalidValueError(field, "a price must be a finite number")
    if amount <= 0 or amount > MAX_PRICE:
        raise InvalidValueError(field, f"a price must be above 0 and at most {MAX_PRICE}")
    if amount != amount.quantize(CENT):
        raise InvalidValueError(field, "a price has at most 2 decimal places")
    return amount.quantize(CENT)


def money(amount: Decimal) -> str:
    """The wire form of an amount: `"12.50"`, always two places, never an exponent."""
    return f"{amount.quantize(CENT):f}"
