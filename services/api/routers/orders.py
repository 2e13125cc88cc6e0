"""Orders: place one (reserving stock), cancel one (returning it), read, read its events.

A token reaches its own orders (its `sub` is their customer); `orders:admin` reaches any.
Another customer's order answers 404 exactly like a missing one: ids do not leak.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import (
    EventsReader,
    IdempotencyDep,
    IfMatch,
    OrderReader,
    OrderWriter,
    RequireDatabase,
    RequireJson,
)
from services.api.etags import etag
from services.api.idempotency import Reply
from services.api.schemas.common import problems
from services.api.schemas.events import EventHistory
from services.api.schemas.orders import OrderCreate, OrderPublic
from services.domain.errors import NotFoundError
from services.domain.orders import Order
from services.security import Principal, forbidden
from services.security.scopes import ORDERS_ADMIN
from services.service_layer import orders, views

router = APIRouter(prefix="/orders", tags=["orders"], dependencies=[RequireDatabase])


def _own(principal: Principal, customer: str) -> bool:
    # The domain strips the customer's name: " ada " places an order of "ada".
    return customer.strip() == principal.sub or principal.may(ORDERS_ADMIN)


async def _visible_order(principal: Principal, order_id: str) -> Order:
    """The order, if the caller may see it; else NotFoundError, as if it did not exist."""
    order = await views.get_order(order_id)
    if not _own(principal, order.customer):
        raise NotFoundError("order", order_id)
    return order


@router.post(
    "",
    status_code=201,
    response_model=OrderPublic,
    dependencies=[RequireJson],
    responses=problems(401, 403, 409, 413, 415, 422),
)
async def place_order(
    body: OrderCreate, principal: OrderWriter, idempotency: IdempotencyDep
) -> Response:
    """Place an order, reserving every line's stock or none (event `order.placed`).

    `customer` must be the token's `sub`, unless the token has `orders:admin`.
    """
    if not _own(principal, body.customer):
        raise forbidden((ORDERS_ADMIN,), "an order for another customer needs orders:admin")

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

    # Orders of one product take turns here instead of failing each other's transactions.
    async with orders.turn_of_products(item.product_id for item in body.items):
        return await idempotency.execute(body, command)


@router.post(
    "/{order_id}/cancel",
    response_model=OrderPublic,
    dependencies=[RequireJson],
    responses=problems(401, 403, 404, 409, 412, 413, 415, 422),
)
async def cancel_order(
    order_id: str, principal: OrderWriter, if_match: IfMatch, idempotency: IdempotencyDep
) -> Response:
    """Cancel a placed order and return its stock (event `order.cancelled`).

    Send `Content-Type: application/json` (the body may be empty; it is not read).
    """
    # An order's customer never changes: checking it before the transaction is enough.
    await _visible_order(principal, order_id)

    async def command() -> Reply:
        order = await orders.cancel_order(order_id=order_id, expected_versions=if_match)
        return Reply.of(OrderPublic.of(order), version=order.version)

    return await idempotency.execute(None, command)


@router.get("/{order_id}", responses=problems(401, 403, 404))
async def read_order(order_id: str, principal: OrderReader, response: Response) -> OrderPublic:
    """Read an order (your own, or any with `orders:admin`); its version is the ETag."""
    order = await _visible_order(principal, order_id)
    response.headers["ETag"] = etag(order.version)
    return OrderPublic.of(order)


@router.get("/{order_id}/events", dependencies=[EventsReader], responses=problems(401, 403, 404))
async def order_events(order_id: str) -> EventHistory:
    """The order's events in version order, with their publish status."""
    events = await views.aggregate_events(aggregate_type="order", aggregate_id=order_id)
    return EventHistory.of("order", order_id, events)
