"""Aggregate ids are MongoDB ObjectIds, written as 24 lowercase hex digits."""

from __future__ import annotations

import re

from beanie import Document, PydanticObjectId

from services.domain.errors import NotFoundError

_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def new_id() -> str:
    """A new id; ObjectIds grow with time, so pages of a listing follow creation order."""
    return str(PydanticObjectId())


def object_id(value: str) -> PydanticObjectId | None:
    """The ObjectId written as `value`, or None when it cannot be one (an unknown id)."""
    if not _OBJECT_ID.fullmatch(value):
        return None
    return PydanticObjectId(value)


async def load[D: Document](model: type[D], aggregate: str, raw_id: str) -> D:
    """The document of `model` with that id; NotFoundError naming `aggregate` when none."""
    oid = object_id(raw_id)
    document = await model.get(oid) if oid else None
    if document is None:
        raise NotFoundError(aggregate, raw_id)
    return document
