from decimal import Decimal

import pytest

from services.domain.catalog import (
    STOCK_MAX,
    Category,
    Product,
    ProductPriceChanged,
    ProductRestocked,
    ProductStockCapped,
    ProductStockReleased,
)
from services.domain.errors import InsufficientStockError, InvalidValueError, StaleVersionError


def a_product(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "id": "p1",
        "name": "Mug",
        "price": Decimal("12.50"),
        "category_id": "c1",
        "stock": 5,
    }
    fields.update(overrides)
    product, _ = Product.create(**fields)  # type: ignore[arg-type]
    return product


def test_creating_a_category_records_category_created() -> None:
    category, created = Category.create(id="c1", name="  Kitchen ", description="Pans")

    assert (category.name, category.version) == ("Kitchen", 1)
    assert created.aggregate_type == "category" and created.name == "created"
    assert created.payload() == {"category_id": "c1", "name": "Kitchen", "description": "Pans"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_category_needs_a_sane_name(name: str) -> None:
    with pytest.raises(InvalidValueError):
        Category.create(id="c1", name=name, description="")


def test_creating_a_product_records_its_price_as_a_string() -> None:
    product, created = Product.create(
        id="p1", name="Mug", price=Decimal("12.5"), category_id="c1", stock=3
    )

    assert product.price == Decimal("12.50")
    assert created.payload() == {
        "product_id": "p1",
        "name": "Mug",
        "price": "12.50",
        "category_id": "c1",
        "stock": 3,
    }


@pytest.mark.parametrize(
    "overrides", [{"price": Decimal(0)}, {"price": Decimal("1.001")}, {"stock": -1}, {"name": ""}]
)
def test_a_product_refuses_invalid_fields(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError):
        a_product(**overrides)


def test_changing_the_price_records_old_and_new_and_bumps_the_version() -> None:
    product = a_product()

    event = product.change_price(Decimal("9.9"))

    assert isinstance(event, ProductPriceChanged)
    assert event.payload() == {"product_id": "p1", "old_price": "12.50", "new_price": "9.90"}
    assert (product.price, product.version) == (Decimal("9.90"), 2)


def test_the_same_price_again_changes_nothing() -> None:
    product = a_product()

    assert product.change_price(Decimal("12.5")) is None
    assert product.version == 1


def test_restocking_adds_units() -> None:
    product = a_product(stock=5)

    event = product.restock(3)

    assert isinstance(event, ProductRestocked)
    assert event.payload() == {"product_id": "p1", "quantity": 3, "stock": 8}
    assert (product.stock, product.version) == (8, 2)


@pytest.mark.parametrize("quantity", [0, -1, STOCK_MAX + 1])
def test_restocking_needs_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(InvalidValueError):
        a_product().restock(quantity)


def test_restocking_cannot_overflow_the_stock() -> None:
    with pytest.raises(InvalidValueError):
        a_product(stock=STOCK_MAX).restock(1)


def test_releasing_gives_the_units_back() -> None:
    product = a_product(stock=5)
    released = product.release(3, order_id="o1")
    assert isinstance(released, ProductStockReleased)
    assert released.payload() == {"product_id": "p1", "order_id": "o1", "quantity": 3, "stock": 8}
    assert (product.stock, product.version) == (8, 2)


def test_releasing_never_lifts_the_stock_above_its_cap() -> None:
    """Units reserved, then a restock up to the cap: a cancel cannot push the stock over it."""
    product = a_product(stock=5)
    product.reserve(4, order_id="o1")
    product.restock(STOCK_MAX - 2)

    capped = product.release(4, order_id="o1")

    assert product.stock == STOCK_MAX
    assert isinstance(capped, ProductStockCapped)
    assert capped.payload() == {
        "product_id": "p1",
        "order_id": "o1",
        "returned": 4,
        "dropped": 3,
        "stock": STOCK_MAX,
    }


def test_reserving_takes_units_or_names_the_product() -> None:
    product = a_product(stock=2)
    reserved = product.reserve(2, order_id="o1")
    assert (product.stock, product.version) == (0, 2)
    assert reserved.payload() == {"product_id": "p1", "order_id": "o1", "quantity": 2, "stock": 0}

    with pytest.raises(InsufficientStockError) as short:
        product.reserve(1, order_id="o2")
    assert (short.value.product_id, short.value.product_name) == ("p1", "Mug")
    assert (short.value.requested, short.value.available) == (1, 0)


def test_a_stale_expected_version_is_refused() -> None:
    product = a_product()
    product.ensure_version(None)
    product.ensure_version({1})

    with pytest.raises(StaleVersionError) as stale:
        product.ensure_version({0, 2})
    assert stale.value.current == 1
