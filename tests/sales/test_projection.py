"""The sales arithmetic on exact decimals: no broker, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.contracts import OrderLinesPayload as OrderLines
from services.sales.projection import (
    CustomerChange,
    ProductChange,
    cancelled,
    from_cents,
    placed,
    to_cents,
)
from tests.sales.factories import order_payload


def test_a_placed_order_adds_units_and_revenue_per_product_and_one_order() -> None:
    order = OrderLines.model_validate(
        order_payload("ada", [("p1", 2, "12.50"), ("p2", 1, "0.10"), ("p1", 3, "12.50")])
    )
    change = placed(order)
    assert change.products == (
        ProductChange("p1", 5, Decimal("62.50")),
        ProductChange("p2", 1, Decimal("0.10")),
    )
    assert change.customer == CustomerChange(
        customer="ada", orders=1, placed=1, cancelled=0, spent=Decimal("62.60")
    )


def test_a_cancelled_order_takes_back_exactly_what_it_added() -> None:
    order = OrderLines.model_validate(order_payload("ada", [("p1", 3, "19.99"), ("p2", 7, "0.01")]))
    added, taken = placed(order), cancelled(order)
    for plus, minus in zip(added.products, taken.products, strict=True):
        assert plus.product_id == minus.product_id
        assert plus.units + minus.units == 0
        assert plus.revenue + minus.revenue == 0
    assert taken.customer == CustomerChange(
        customer="ada", orders=-1, placed=0, cancelled=1, spent=Decimal("-60.04")
    )


def test_decimal_sums_are_exact_where_floats_are_not() -> None:
    order = OrderLines.model_validate(order_payload("bob", [("p", 1, "0.10")] * 3))
    assert placed(order).products == (ProductChange("p", 3, Decimal("0.30")),)
    assert to_cents(Decimal("0.30")) == 30


@pytest.mark.parametrize(
    ("cents", "text"), [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (-2500, "-25.00")]
)
def test_cents_round_trip(cents: int, text: str) -> None:
    assert from_cents(cents) == text
    assert to_cents(Decimal(text)) == cents


def test_an_amount_finer_than_a_cent_is_refused() -> None:
    with pytest.raises(ValueError, match="two decimal places"):
        to_cents(Decimal("0.001"))


@pytest.mark.parametrize(
    "change",
    [
        {"customer": ""},
        {"items": []},
        {"total": "99.00"},
        {"total": 1e400},
        {"items": [{"product_id": "p", "quantity": 0, "unit_price": "1.00", "line_total": "0.00"}]},
        {"items": [{"product_id": "p", "quantity": 2, "unit_price": "1.00", "line_total": "3.00"}]},
        {
            "items": [
                {"product_id": "p", "quantity": 1, "unit_price": "1.001", "line_total": "1.001"}
            ]
        },
        {
            "items": [
                {"product_id": "p", "quantity": 1, "unit_price": "-1.00", "line_total": "-1.00"}
            ]
        },
        {"items": [{"product_id": "p", "quantity": 1, "unit_price": "NaN", "line_total": "NaN"}]},
    ],
    ids=[
        "no-customer",
        "no-items",
        "wrong-total",
        "infinite-total",
        "zero-quantity",
        "wrong-line-total",
        "sub-cent-price",
        "negative-price",
        "nan-price",
    ],
)
def test_a_payload_that_does_not_add_up_is_refused(change: dict[str, object]) -> None:
    payload = order_payload("ada", [("p1", 1, "5.00")]) | change
    with pytest.raises(ValidationError):
        OrderLines.model_validate(payload)
