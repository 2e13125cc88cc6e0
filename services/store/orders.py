"""Orders, with their lines embedded: an order is read and written as one document."""

from __future__ import annotations

from decimal import Decimal

from beanie import PydanticObjectId

import outbox
from services.domain.errors import ConcurrentUpdateError
from services.domain.money import money
from services.domain.orders import Order, OrderLine, OrderStatus
from services.store.documents import OrderDocument, OrderLineDocument, stored
from services.store.ids import load


def order_from(doc: OrderDocument) -> Order:
    return Order(
        id=str(doc.id),
        customer=doc.customer,
        lines=tuple(
            OrderLine(
                product_id=line.product_id,
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=Decimal(line.unit_price),
            )
            for line in doc.lines
        ),
        status=OrderStatus(doc.status),
        placed_at=doc.placed_at,
        cancelled_at=doc.cancelled_at,
        version=doc.version,
    )


async def add_order(order: Order) -> None:
    document = OrderDocument(
        id=PydanticObjectId(order.id),
        customer=order.customer,
        lines=[
            OrderLineDocument(
                product_id=line.product_id,
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
            )
            for line in order.lines
        ],
        status=order.status.value,
        placed_at=order.placed_at,
        cancelled_at=order.cancelled_at,
        version=order.version,
    )
    # Sent with the command's events and reply, in the round trip before its commit.
    await outbox.insert_later(OrderDocument.get_pymongo_collection(), stored(document))


async def get_order(order_id: str) -> Order:
    return order_from(await load(OrderDocument, "order", order_id))


async def save_order(order: Order, *, previous_version: int) -> None:
    """Writes an order's new status, if nobody changed it since it was read."""
    result = await OrderDocument.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(order.id), "version": previous_version},
        {
            "$set": {
                "status": order.status.value,
                "cancelled_at": order.cancelled_at,
                "version": order.version,
            }
        },
    )
    if result.matched_count != 1:
        raise ConcurrentUpdateError(f"order {order.id!r} changed while being updated")
