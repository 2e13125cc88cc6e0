"""Categories, and products with a price and a stock that orders reserve."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from services.contracts import catalog as contract
from services.contracts import fields
from services.domain import money
from services.domain.aggregate import Aggregate, DomainEvent
from services.domain.errors import InsufficientStockError, InvalidValueError

NAME_MAX = fields.NAME_MAX
DESCRIPTION_MAX = fields.DESCRIPTION_MAX
STOCK_MAX = fields.STOCK_MAX


def _name(value: str, field: str = "name", limit: int = NAME_MAX) -> str:
    name = value.strip()
    if not name or len(name) > limit:
        raise InvalidValueError((field,), f"{field} must have 1 to {limit} characters")
    return name


def _quantity(value: int, field: str = "quantity", *, minimum: int = 1) -> int:
    if not minimum <= value <= STOCK_MAX:
        raise InvalidValueError((field,), f"{field} must be between {minimum} and {STOCK_MAX}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryCreated(DomainEvent):
    aggregate_type = "category"
    name = "created"

    category_name: str
    description: str

    def payload(self) -> dict[str, Any]:
        return contract.CategoryCreatedPayload(
            category_id=self.aggregate_id, name=self.category_name, description=self.description
        ).model_dump(mode="json")


@dataclass(slots=True, kw_only=True)
class Category(Aggregate):
    kind = "category"

    name: str
    description: str = ""

    @classmethod
    def create(cls, *, id: str, name: str, description: str) -> tuple[Category, CategoryCreated]:
        if len(description) > DESCRIPTION_MAX:
            raise InvalidValueError(("description",), f"at most {DESCRIPTION_MAX} characters")
        category = cls(id=id, name=_name(name), description=description)
        return category, CategoryCreated(
            aggregate_id=id, category_name=category.name, description=description
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductCreated(DomainEvent):
    aggregate_type = "product"
    name = "created"

    product_name: str
    price: Decimal
    category_id: str
    stock: int

    def payload(self) -> dict[str, Any]:
        return contract.ProductCreatedPayload(
            product_id=self.aggregate_id,
            name=self.product_name,
            price=self.price,
            category_id=self.category_id,
            stock=self.stock,
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductPriceChanged(DomainEvent):
    aggregate_type = "product"
    name = "price_changed"

    old_price: Decimal
    new_price: Decimal

    def payload(self) -> dict[str, Any]:
        return contract.ProductPriceChangedPayload(
            product_id=self.aggregate_id, old_price=self.old_price, new_price=self.new_price
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRestocked(DomainEvent):
    aggregate_type = "product"
    name = "restocked"

    quantity: int
    stock: int

    def payload(self) -> dict[str, Any]:
        return contract.ProductRestockedPayload(
            product_id=self.aggregate_id, quantity=self.quantity, stock=self.stock
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStockChange(DomainEvent):
    """Units of the product an order took or gave back; `stock` is the stock after it."""

    aggregate_type = "product"
    model: ClassVar[type[contract.OrderStockChangePayload]]

    order_id: str
    quantity: int
    stock: int

    def payload(self) -> dict[str, Any]:
        return self.model(
            product_id=self.aggregate_id,
            order_id=self.order_id,
            quantity=self.quantity,
            stock=self.stock,
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductStockReserved(OrderStockChange):
    """An order took `quantity` units of the product (all its lines for this product)."""

    name = "stock_reserved"
    model = contract.ProductStockReservedPayload


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductStockReleased(OrderStockChange):
    """A cancelled order gave its `quantity` units of the product back to stock."""

    name = "stock_released"
    model = contract.ProductStockReleasedPayload


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductStockCapped(DomainEvent):
    """A cancelled order gave back more units than fit under STOCK_MAX: the rest are dropped.

    It takes the place of `product.stock_released` for that order: `returned - dropped` units
    came back, so the product's events still add up to its stock.
    """

    aggregate_type = "product"
    name = "stock_capped"

    order_id: str
    returned: int
    dropped: int
    stock: int

    def payload(self) -> dict[str, Any]:
        return contract.ProductStockCappedPayload(
            product_id=self.aggregate_id,
            order_id=self.order_id,
            returned=self.returned,
            dropped=self.dropped,
            stock=self.stock,
        ).model_dump(mode="json")


@dataclass(slots=True, kw_only=True)
class Product(Aggregate):
    kind = "product"

    name: str
    price: Decimal
    category_id: str
    stock: int

    @classmethod
    def create(
        cls, *, id: str, name: str, price: Decimal, category_id: str, stock: int
    ) -> tuple[Product, ProductCreated]:
        product = cls(
            id=id,
            name=_name(name),
            price=money.price(price),
            category_id=category_id,
            stock=_quantity(stock, "stock", minimum=0),
        )
        return product, ProductCreated(
            aggregate_id=id,
            product_name=product.name,
            price=product.price,
            category_id=category_id,
            stock=product.stock,
        )

    def change_price(self, new_price: Decimal) -> ProductPriceChanged | None:
        """The new price, or None when it is the current one: nothing happened, no event."""
        new_price = money.price(new_price)
        if new_price == self.price:
            return None
        event = ProductPriceChanged(aggregate_id=self.id, old_price=self.price, new_price=new_price)
        self.price = new_price
        self._changed()
        return event

    def restock(self, quantity: int) -> ProductRestocked:
        quantity = _quantity(quantity)
        if self.stock + quantity > STOCK_MAX:
            raise InvalidValueError(("quantity",), f"stock cannot exceed {STOCK_MAX}")
        self.stock += quantity
        self._changed()
        return ProductRestocked(aggregate_id=self.id, quantity=quantity, stock=self.stock)

    def reserve(self, quantity: int, *, order_id: str) -> ProductStockReserved:
        """Takes `quantity` units out of stock for an order; all or nothing."""
        if quantity > self.stock:
            raise InsufficientStockError(
                product_id=self.id, product_name=self.name, requested=quantity, available=self.stock
            )
        self.stock -= quantity
        self._changed()
        return ProductStockReserved(
            aggregate_id=self.id, order_id=order_id, quantity=quantity, stock=self.stock
        )

    def release(self, quantity: int, *, order_id: str) -> ProductStockReleased | ProductStockCapped:
        """Gives a cancelled order's `quantity` units back, up to STOCK_MAX.

        Stock stays within its cap on every path: a restock may have filled the shelf since
        the order took its units, and those units then no longer fit (`product.stock_capped`).
        """
        kept = min(quantity, STOCK_MAX - self.stock)
        self.stock += kept
        self._changed()
        if kept == quantity:
            return ProductStockReleased(
                aggregate_id=self.id, order_id=order_id, quantity=quantity, stock=self.stock
            )
        return ProductStockCapped(
            aggregate_id=self.id,
            order_id=order_id,
            returned=quantity,
            dropped=quantity - kept,
            stock=self.stock,
        )
