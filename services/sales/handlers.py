"""The sales consumer's handlers: each turns an order event into a change of the figures."""

from __future__ import annotations

from outbox.consumer import Delivery, Handlers
from services.contracts import OrderCancelledPayload, OrderPlacedPayload
from services.sales import projection, store

handlers = Handlers()


@handlers.on("order.placed", payload=OrderPlacedPayload)
async def add_placed_order(delivery: Delivery) -> None:
    """Adds the order's lines and one order (a payload its contract refuses never gets here)."""
    await store.apply(projection.placed(delivery.payload(OrderPlacedPayload)))


@handlers.on("order.cancelled", payload=OrderCancelledPayload)
async def subtract_cancelled_order(delivery: Delivery) -> None:
    """Subtracts what the order's `order.placed` added."""
    await store.apply(projection.cancelled(delivery.payload(OrderCancelledPayload)))
