"""Categories: create one, read one, read its events."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import (
    Authenticated,
    CatalogWriter,
    EventsReader,
    IdempotencyDep,
    RequireDatabase,
    RequireJson,
)
from services.api.etags import etag
from services.api.idempotency import Reply
from services.api.schemas.categories import CategoryCreate, CategoryPublic
from services.api.schemas.common import problems
from services.api.schemas.events import EventHistory
from services.service_layer import catalog, views

router = APIRouter(prefix="/categories", tags=["categories"], dependencies=[RequireDatabase])


@router.post(
    "",
    status_code=201,
    response_model=CategoryPublic,
    dependencies=[RequireJson, CatalogWriter],
    responses=problems(401, 403, 413, 415, 422),
)
async def create_category(body: CategoryCreate, idempotency: IdempotencyDep) -> Response:
    """Create a category (event `category.created`)."""

    async def command() -> Reply:
        category = await catalog.create_category(name=body.name, description=body.description)
        return Reply.of(
            CategoryPublic.of(category),
            version=category.version,
            status_code=201,
            location=f"/categories/{category.id}",
        )

    return await idempotency.execute(body, command)


@router.get("/{category_id}", dependencies=[Authenticated], responses=problems(401, 404))
async def read_category(category_id: str, response: Response) -> CategoryPublic:
    """Read a category; its version is the ETag."""
    category = await views.get_category(category_id)
    response.headers["ETag"] = etag(category.version)
    return CategoryPublic.of(category)


@router.get("/{category_id}/events", dependencies=[EventsReader], responses=problems(401, 403, 404))
async def category_events(category_id: str) -> EventHistory:
    """The category's events in version order, with their publish status."""
    events = await views.aggregate_events(aggregate_type="category", aggregate_id=category_id)
    return EventHistory.of("category", category_id, events)
