from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.domain.catalog import Product
from services.domain.errors import InsufficientStockError, InvalidStateError, InvalidValueError
from services.domain.orders import MAX_LINES, Order, OrderStatus

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def a_product(product_id: str, *, price: str = "2.50", stock: int = 10) -> Product:
    product, _ = Product.create(
        id=product_id,
        name=f"Product {product_id}",
        price=Decimal(price),
        category_id="c",
        stock=stock,
    )
    return product


def test_placing_reserves_stock_and_prices_every_line() -> None:
    mug, pan = a_product("mug", price="2.50"), a_product("pan", price="10.00", stock=1)

    order, placed, reserved = Order.place(
        id="o1", customer="ada", items=[(mug, 3), (pan, 1)], now=NOW
    )

    assert (mug.stock, pan.stock) == (7, 0)
    assert [event.payload() for event in reserved] == [
        {"product_id": "mug", "order_id": "o1", "quantity": 3, "stock": 7},
        {"product_id": "pan", "order_id": "o1", "quantity": 1, "stock": 0},
    ]
    assert order.status is OrderStatus.PLACED and order.version == 1
    assert order.total == Decimal("17.50")
    assert placed.payload() == {
        "order_id": "o1",
        "customer": "ada",
        "items": [
            {
                "product_id": "mug",
                "product_name": "Product mug",
                "quantity": 3,
                "unit_price": "2.50",
                "line_total": "7.50",
            },
            {
                "product_id": "pan",
                "product_name": "Product pan",
                "quantity": 1,
                "unit_price": "10.00",
                "line_total": "10.00",
            },
        ],
        "total": "17.50",
        "placed_at": "2026-11-25T12:00:00Z",
    }


def test_a_short_line_fails_the_whole_order_and_changes_no_product() -> None:
    mug, pan = a_product("mug", stock=5), a_product("pan", stock=1)

    with pytest.raises(InsufficientStockError) as short:
        Order.place(id="o1", customer="ada", items=[(mug, 2), (pan, 2)], now=NOW)

    assert short.value.product_id == "pan"
    assert (mug.stock, mug.version, pan.stock, pan.version) == (5, 1, 1, 1)


def test_lines_of_the_same_product_share_its_stock() -> None:
    mug = a_product("mug", stock=3)

    with pytest.raises(InsufficientStockError) as short:
        Order.place(id="o1", customer="ada", items=[(mug, 2), (mug, 2)], now=NOW)
    assert (short.value.requested, short.value.available) == (4, 3)

    _, _, reserved = Order.place(id="o2", customer="ada", items=[(mug, 2), (mug, 1)], now=NOW)
    assert mug.stock == 0
    assert [(event.quantity, event.stock) for event in reserved] == [(3, 0)]
    assert mug.version == 2  # one reservation for both lines: one event, one version


@pytest.mark.parametrize(
    ("customer", "lines", "quantity"),
    [("ada", 0, 1), ("ada", MAX_LINES + 1, 1), ("ada", 1, 0), ("  ", 1, 1)],
)
def test_an_order_needs_a_customer_and_1_to_100_positive_lines(
    customer: str, lines: int, quantity: int
) -> None:
    mug = a_product("mug", stock=1000)
    with pytest.raises(InvalidValueError):
        Order.place(id="o1", customer=customer, items=[(mug, quantity)] * lines, now=NOW)


def test_cancelling_records_the_same_lines_and_total_once() -> None:
    order, placed, _ = Order.place(id="o1", customer="ada", items=[(a_product("mug"), 2)], now=NOW)

    cancelled = order.cancel(now=NOW)

    assert (order.status, order.version, order.cancelled_at) == (OrderStatus.CANCELLED, 2, NOW)
    assert cancelled.name == "cancelled"
    placed_lines = {k: v for k, v in placed.payload().items() if k != "placed_at"}
    assert cancelled.payload() == placed_lines | {"cancelled_at": "2026-11-25T12:00:00Z"}
    with pytest.raises(InvalidStateError):
        order.cancel(now=NOW)


def test_an_order_above_the_largest_amount_an_event_carries_is_refused_untouched() -> None:
    dear = a_product("dear", price="99999999.99", stock=1_000_000)

    with pytest.raises(InvalidValueError, match=r"total is at most 1000000000000\.00"):
        Order.place(id="o1", customer="ada", items=[(dear, 10_001)], now=NOW)
    assert dear.stock == 1_000_000

    order, _, _ = Order.place(id="o1", customer="ada", items=[(dear, 10_000)], now=NOW)
    assert order.total == Decimal("999999999900.00")
