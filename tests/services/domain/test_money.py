from decimal import Decimal

import pytest

from services.domain.errors import InvalidValueError
from services.domain.money import money, price


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12.5", "12.50"),
        ("0.01", "0.01"),
        (3, "3.00"),
        (Decimal("1.500"), "1.50"),
        ("1E+2", "100.00"),
    ],
)
def test_a_valid_price_is_quantized_to_cents(given: str | int | Decimal, expected: str) -> None:
    assert price(given) == Decimal(expected)
    assert money(price(given)) == expected


@pytest.mark.parametrize(
    "given", ["0", "-1", "0.001", "1.505", "NaN", "Infinity", "abc", "100000000.00"]
)
def test_an_invalid_price_is_refused(given: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        price(given)
    assert refused.value.field == ("price",)


def test_money_is_a_plain_string_with_two_places() -> None:
    assert money(Decimal("7")) == "7.00"
    assert money(Decimal("1E+3")) == "1000.00"
