"""The sales consumer's handlers: each turns an order event into a change of the figures."""

from __future__ import annotations

from outbox.consumer import Delivery, Handlers
from services.sales import projection, store

handlers = Handlers()


@handlers.on("order.placed")
async def add_placed_order(delivery: Delivery) -> None:
    """Adds the order's lines and one order (a bad payload raises: dead-lettered at once)."""
    order = projection.OrderLines.model_validate(delivery.event.payload)
    await store.apply(projection.placed(order))


@handlers.on("order.cancelled")
async def subtract_cancelled_order(delivery: Delivery) -> None:
    """Subtracts what the order's `order.placed` added."""
    order = projection.OrderLines.model_validate(delivery.event.payload)
    await store.apply(projection.cancelled(order))
