"""Orders: place one (reserving stock), cancel one (returning it), read, read its events."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import IdempotencyDep, IfMatch, RequireDatabase
from services.api.etags import etag
from services.api.idempotency import Reply
from services.api.schemas.common import problems
from services.api.schemas.events import EventHistory
from services.api.schemas.orders import OrderCreate, OrderPublic
from services.service_layer import orders, views

router = APIRouter(prefix="/orders", tags=["orders"], dependencies=[RequireDatabase])


@router.post("", status_code=201, response_model=OrderPublic, responses=problems(409, 413, 422))
async def place_order(body: OrderCreate, idempotency: IdempotencyDep) -> Response:
    """Place an order, reserving every line's stock or none (event `order.placed`)."""

    async def command() -> Reply:
        order = await orders.place_order(
            customer=body.customer,
            items=[(item.product_id, item.quantity) for item in body.items],
        )
        return Reply.of(
            OrderPublic.of(order),
            version=order.version,
            status_code=201,
            location=f"/orders/{order.id}",
        )

    return await idempotency.execute(body, command)


@router.post(
    "/{order_id}/cancel", response_model=OrderPublic, responses=problems(404, 409, 412, 413, 422)
)
async def cancel_order(order_id: str, if_match: IfMatch, idempotency: IdempotencyDep) -> Response:
    """Cancel a placed order and return its stock (event `order.cancelled`)."""

    async def command() -> Reply:
        order = await orders.cancel_order(order_id=order_id, expected_versions=if_match)
        return Reply.of(OrderPublic.of(order), version=order.version)

    return await idempotency.execute(None, command)


@router.get("/{order_id}", responses=problems(404))
async def read_order(order_id: str, response: Response) -> OrderPublic:
    """Read an order; its version is the ETag."""
    order = await views.get_order(order_id)
    response.headers["ETag"] = etag(order.version)
    return OrderPublic.of(order)


@router.get("/{order_id}/events", responses=problems(404))
async def order_events(order_id: str) -> EventHistory:
    """The order's events in version order, with their publish status."""
    events = await views.aggregate_events(aggregate_type="order", aggregate_id=order_id)
    return EventHistory.of("order", order_id, events)
