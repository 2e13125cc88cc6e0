"""The event payload contracts: what the domain writes validates, and nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.contracts import PAYLOADS, OrderPlacedPayload, ProductCreatedPayload
from services.domain.aggregate import DomainEvent
from services.domain.catalog import STOCK_MAX, Category, Product
from services.domain.history import event_types
from services.domain.orders import Order

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def domain_events() -> list[DomainEvent]:
    _, created = Category.create(id="c1", name="Kitchen", description="Pans")
    product, added = Product.create(
        id="p1", name="Mug", price=Decimal("99999999.99"), category_id="c1", stock=10_000
    )
    changed = product.change_price(Decimal("12.50"))
    restocked = product.restock(5)
    order, placed, reserved = Order.place(id="o1", customer="ada", items=[(product, 3)], now=NOW)
    released = product.release(3, order_id="o1")
    product.reserve(2, order_id="o2")
    product.restock(STOCK_MAX - product.stock - 1)
    capped = product.release(2, order_id="o2")
    assert changed is not None
    return [
        created,
        added,
        changed,
        restocked,
        placed,
        *reserved,
        order.cancel(now=NOW),
        released,
        capped,
    ]


def event_type(event: DomainEvent) -> str:
    return f"{event.aggregate_type}.{event.name}"


def test_every_domain_event_type_is_exercised_here() -> None:
    assert {event_type(event) for event in domain_events()} == set(PAYLOADS)


def test_every_domain_event_type_has_a_payload_model() -> None:
    assert event_types() <= set(PAYLOADS)


@pytest.mark.parametrize("event", domain_events(), ids=event_type)
def test_what_the_domain_writes_validates_against_its_model(event: DomainEvent) -> None:
    payload = event.payload()
    model = PAYLOADS[event_type(event)]
    assert model.model_validate(payload).model_dump(mode="json") == payload


def order(**changes: Any) -> dict[str, Any]:
    line = {
        "product_id": "p1",
        "product_name": "Mug",
        "quantity": 2,
        "unit_price": "1.50",
        "line_total": "3.00",
    }
    base = {"order_id": "o1", "customer": "ada", "items": [line], "total": "3.00"}
    return base | changes


def line(**changes: Any) -> dict[str, Any]:
    first: dict[str, Any] = order()["items"][0]
    return order(items=[first | changes])


@pytest.mark.parametrize(
    "payload",
    [
        line(unit_price="1E+400000"),
        line(unit_price="1.5e0"),
        line(unit_price=1.5),
        line(unit_price="-1.50", line_total="-3.00"),
        line(unit_price="0.00", line_total="0.00"),
        line(unit_price="1.505"),
        line(unit_price="NaN"),
        line(unit_price=" 1.50"),
        line(unit_price="\u0661.50"),
        line(quantity=True),
        line(quantity=2.0),
        line(quantity="2"),
        line(quantity=10**30),
        line(quantity=0),
        line(line_total="3.01"),
        line(product_id=""),
        line(product_id="p" * 65),
        line(product_id=7),
        order(customer="x" * 201),
        order(customer=None),
        order(total="3.01"),
        order(total="1000000000000.01"),
        order(items=[]),
        order(items=order()["items"] * 101),
        order(items={"0": order()["items"][0]}),
    ],
)
def test_a_payload_the_domain_could_not_write_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OrderPlacedPayload.model_validate(payload)


def test_amounts_go_up_to_ten_to_the_twelve_and_are_written_with_two_places() -> None:
    big = line(quantity=1, unit_price="1000000000000", line_total="1000000000000.00")
    parsed = OrderPlacedPayload.model_validate(big | {"total": "1000000000000.0"})
    assert parsed.total == Decimal(10**12)
    assert parsed.model_dump(mode="json")["total"] == "1000000000000.00"


def test_a_publisher_cannot_build_a_payload_out_of_bounds() -> None:
    for price in (Decimal("1E+400000"), Decimal("NaN"), Decimal("0.001"), Decimal(0)):
        with pytest.raises(ValidationError):
            ProductCreatedPayload(product_id="p", name="n", price=price, category_id="c", stock=1)
