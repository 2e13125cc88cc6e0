"""The read-only sales API, served on the consumer's own port next to /healthz and /metrics.

Every route needs a bearer token with `sales:read` (checked by the Authenticator the
composition root passes to `sales_router`); the operations routes stay open.
"""

from __future__ import annotations

from collections.abc import Coroutine
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure

from services.sales import store
from services.sales.projection import from_cents
from services.security import Authenticator, principal_of
from services.security.scopes import SALES_READ

PROBLEM_JSON = "application/problem+json"

routes = APIRouter()


class ProductSalesPublic(BaseModel):
    product_id: str
    units_sold: int
    revenue: str  # exact, e.g. "25.00"


class CustomerSalesPublic(BaseModel):
    customer: str
    orders: int  # placed and not cancelled
    placed: int
    cancelled: int
    spent: str  # exact, over the orders that stand


def problem(status: int, detail: str) -> JSONResponse:
    """An error answer as a JSON problem document, like the API's."""
    body = {
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": {404: "not_found", 503: "unavailable"}.get(status, "error"),
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _database_ready(request: Request) -> bool:
    return bool(request.app.state.health().database)


Ready = Annotated[bool, Depends(_database_ready)]
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token, or an invalid one (`WWW-Authenticate` says why)."},
    403: {"description": "The token lacks the scope `sales:read`."},
    404: {"description": "Nothing recorded for this id."},
    503: {"description": "MongoDB is not reachable."},
}


async def _find[T](
    ready: bool, fetch: Coroutine[Any, Any, T | None], missing: str
) -> T | JSONResponse:
    """The projection's record, or the problem answer: 503 when unreachable, 404 when absent."""
    if not ready:
        fetch.close()  # never awaited: close it, or Python warns
        return problem(503, "the sales database is not ready yet")
    try:
        found = await fetch
    except ConnectionFailure:
        return problem(503, "MongoDB is not reachable")
    return problem(404, missing) if found is None else found


@routes.get("/products/{product_id}", response_model=ProductSalesPublic, responses=RESPONSES)
async def product_sales(product_id: str, ready: Ready) -> ProductSalesPublic | JSONResponse:
    """Units sold and revenue of one product, over the orders that stand."""
    found = await _find(
        ready, store.product(product_id), f"no sales recorded for product {product_id!r}"
    )
    if isinstance(found, JSONResponse):
        return found
    return ProductSalesPublic(
        product_id=found.id, units_sold=found.units_sold, revenue=from_cents(found.revenue_cents)
    )


@routes.get("/customers/{name}", response_model=CustomerSalesPublic, responses=RESPONSES)
async def customer_sales(name: str, ready: Ready) -> CustomerSalesPublic | JSONResponse:
    """Order counts of one customer: standing, placed and cancelled, and what they spent."""
    found = await _find(ready, store.customer(name), f"no orders recorded for customer {name!r}")
    if isinstance(found, JSONResponse):
        return found
    return CustomerSalesPublic(
        customer=found.id,
        orders=found.orders,
        placed=found.placed,
        cancelled=found.cancelled,
        spent=from_cents(found.spent_cents),
    )


def sales_router(authenticator: Authenticator) -> APIRouter:
    """The /sales routes, each refusing callers without a `sales:read` token."""
    router = APIRouter(prefix="/sales", tags=["sales"])
    router.include_router(
        routes, dependencies=[Security(principal_of(authenticator), scopes=[SALES_READ])]
    )
    return router
