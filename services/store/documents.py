"""The shop's MongoDB documents; prices are stored as exact strings like "12.50"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import BaseModel
from pymongo import IndexModel

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
"""How long a client may replay a command with the same Idempotency-Key."""


def stored(document: Document) -> dict[str, Any]:
    """The document as Beanie would encode it, built by pydantic (Beanie's encoder is slow)."""
    return {"_id": document.id, **document.model_dump(exclude={"id", "revision_id"})}


class CategoryDocument(Document):
    name: str
    description: str
    version: int

    class Settings:
        name = "categories"


class ProductDocument(Document):
    name: str
    price: str
    category_id: str
    stock: int
    version: int

    class Settings:
        name = "products"
        indexes = [  # noqa: RUF012  # Beanie reads a plain class attribute
            # Listing a category page by page. On real MongoDB (category_id, _id) would also
            # serve the sort, but the dev database cannot insert once an index names _id.
            IndexModel([("category_id", pymongo.ASCENDING)], name="category_id"),
        ]


class OrderLineDocument(BaseModel):
    product_id: str
    product_name: str
    quantity: int
    unit_price: str


class OrderDocument(Document):
    customer: str
    lines: list[OrderLineDocument]
    status: str
    placed_at: datetime
    cancelled_at: datetime | None = None
    version: int

    class Settings:
        name = "orders"


class IdempotencyRecord(Document):
    """The first reply to a command sent with an Idempotency-Key, replayed to its retries."""

    id: str  # type: ignore[assignment]  # the client's key
    request_hash: str
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]
    created_at: datetime

    class Settings:
        name = "idempotency_keys"
        indexes = [  # noqa: RUF012  # Beanie reads a plain class attribute
            IndexModel(
                [("created_at", pymongo.ASCENDING)],
                name="expire_after_a_day",
                expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS,
            ),
        ]
