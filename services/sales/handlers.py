"""The sales consumer's handlers: each turns an order event into a change of the figures."""

from __future__ import annotations

from collections.abc import Sequence

from outbox.consumer import Delivery, Handlers
from services.contracts import OrderCancelledPayload, OrderPlacedPayload
from services.sales import projection, store
from services.sales.projection import SalesChange

handlers = Handlers()


@handlers.on("order.placed", payload=OrderPlacedPayload)
async def add_placed_order(delivery: Delivery) -> None:
    """Adds the order's lines and one order (a payload its contract refuses never gets here)."""
    await store.apply(projection.placed(delivery.payload(OrderPlacedPayload)))


@handlers.on("order.cancelled", payload=OrderCancelledPayload)
async def subtract_cancelled_order(delivery: Delivery) -> None:
    """Subtracts what the order's `order.placed` added."""
    await store.apply(projection.cancelled(delivery.payload(OrderCancelledPayload)))


def change_of(delivery: Delivery) -> SalesChange:
    """What a validated order event changes."""
    if delivery.type == "order.cancelled":
        return projection.cancelled(delivery.payload(OrderCancelledPayload))
    return projection.placed(delivery.payload(OrderPlacedPayload))


async def apply_batch(deliveries: Sequence[Delivery]) -> None:
    """A rebuild's chunk at once: the same sums as the handlers one by one, in one bulk write."""
    await store.apply_all([change_of(delivery) for delivery in deliveries])
