"""Products: create, reprice, restock, read, list by category, read their events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.api.deps import (
    Authenticated,
    CatalogWriter,
    EventsReader,
    IdempotencyDep,
    IfMatch,
    RequireDatabase,
    RequireJson,
)
from services.api.etags import etag
from services.api.idempotency import Reply
from services.api.schemas.common import problems
from services.api.schemas.events import EventHistory
from services.api.schemas.products import (
    PriceChange,
    ProductCreate,
    ProductPage,
    ProductPublic,
    Restock,
)
from services.domain.catalog import Product
from services.service_layer import catalog, views

router = APIRouter(prefix="/products", tags=["products"], dependencies=[RequireDatabase])

ObjectIdQuery = Query(pattern=r"^[0-9a-f]{24}$")
MAX_PAGE = 100
COMMAND = [RequireJson, CatalogWriter]


def _reply(product: Product, status_code: int = 200) -> Reply:
    location = f"/products/{product.id}" if status_code == 201 else None
    return Reply.of(
        ProductPublic.of(product),
        version=product.version,
        status_code=status_code,
        location=location,
    )


@router.post(
    "",
    status_code=201,
    response_model=ProductPublic,
    dependencies=COMMAND,
    responses=problems(401, 403, 413, 415, 422),
)
async def create_product(body: ProductCreate, idempotency: IdempotencyDep) -> Response:
    """Create a product in an existing category (event `product.created`)."""

    async def command() -> Reply:
        product = await catalog.create_product(
            name=body.name, price=body.price, category_id=body.category_id, stock=body.stock
        )
        return _reply(product, 201)

    return await idempotency.execute(body, command)


@router.post(
    "/{product_id}/price",
    response_model=ProductPublic,
    dependencies=COMMAND,
    responses=problems(401, 403, 404, 412, 413, 415, 422),
)
async def change_price(
    product_id: str, body: PriceChange, if_match: IfMatch, idempotency: IdempotencyDep
) -> Response:
    """Set a new price (event `product.price_changed` with the old and new price)."""

    async def command() -> Reply:
        product = await catalog.change_price(
            product_id=product_id, price=body.price, expected_versions=if_match
        )
        return _reply(product)

    return await idempotency.execute(body, command)


@router.post(
    "/{product_id}/restock",
    response_model=ProductPublic,
    dependencies=COMMAND,
    responses=problems(401, 403, 404, 412, 413, 415, 422),
)
async def restock(
    product_id: str, body: Restock, if_match: IfMatch, idempotency: IdempotencyDep
) -> Response:
    """Add units to the stock (event `product.restocked`)."""

    async def command() -> Reply:
        product = await catalog.restock_product(
            product_id=product_id, quantity=body.quantity, expected_versions=if_match
        )
        return _reply(product)

    return await idempotency.execute(body, command)


@router.get("", dependencies=[Authenticated], responses=problems(401, 422))
async def list_products(
    category_id: Annotated[str | None, ObjectIdQuery] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, ObjectIdQuery] = None,
) -> ProductPage:
    """List products in creation order, optionally of one category, a page at a time."""
    products = await views.list_products(category_id=category_id, after=cursor, limit=limit + 1)
    page = products[:limit]
    next_cursor = page[-1].id if len(products) > limit else None
    return ProductPage(items=[ProductPublic.of(p) for p in page], next_cursor=next_cursor)


@router.get("/{product_id}", dependencies=[Authenticated], responses=problems(401, 404))
async def read_product(product_id: str, response: Response) -> ProductPublic:
    """Read a product; its version is the ETag."""
    product = await views.get_product(product_id)
    response.headers["ETag"] = etag(product.version)
    return ProductPublic.of(product)


@router.get("/{product_id}/events", dependencies=[EventsReader], responses=problems(401, 403, 404))
async def product_events(product_id: str) -> EventHistory:
    """The product's events in version order, with their publish status."""
    events = await views.aggregate_events(aggregate_type="product", aggregate_id=product_id)
    return EventHistory.of("product", product_id, events)
