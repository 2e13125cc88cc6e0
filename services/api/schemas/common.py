"""Shapes shared by every resource: ids, error bodies and their OpenAPI entries."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ObjectIdStr = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="An id as returned by the API (24 hex digits).",
        examples=["6650f1c2a4b5c6d7e8f90123"],
    ),
]


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query`, `header` or `path`, then …")
    msg: str
    type: str


class Problem(BaseModel):
    """Every error answer: a JSON problem document (RFC 9457), never a stack trace."""

    model_config = ConfigDict(
        extra="allow",  # a problem may carry extensions, e.g. `product_id` for a 409
        json_schema_extra={
            "examples": [
                {
                    "title": "Conflict",
                    "status": 409,
                    "code": "insufficient_stock",
                    "detail": "not enough stock of product 'Mug' (6650f1…): 3 requested, 1 left",
                    "request_id": "9f1c2e4b0d6a4e59a1b2c3d4e5f60718",
                    "product_id": "6650f1c2a4b5c6d7e8f90123",
                }
            ]
        },
    )

    title: str
    status: int
    code: str
    detail: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
    missing_scopes: list[str] | None = Field(
        default=None, description="With 403: the scopes the token lacks."
    )


_DESCRIPTIONS = {
    401: (
        "No bearer token, or an invalid one (malformed, badly signed, expired, not yet valid, "
        "or for another issuer or audience); `WWW-Authenticate: Bearer` says which."
    ),
    403: (
        "The token lacks a scope this needs: `missing_scopes` and "
        '`WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` name it.'
    ),
    404: "Unknown id.",
    409: "The command conflicts with the current state.",
    412: "`If-Match` names a version that is no longer current.",
    413: "The request body is too large.",
    415: "A command's Content-Type must be `application/json` (or `application/…+json`).",
    422: (
        "Invalid input, field by field (a body that is not a JSON object too); "
        "or an Idempotency-Key reused with another body."
    ),
    503: "MongoDB is unreachable; retry after `Retry-After` seconds.",
}


PROBLEM_REF = "#/components/schemas/Problem"  # registered there by `"model": Problem`


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error statuses (and 503)."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            # What the API sends; FastAPI lists the model under application/json as well.
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in (*statuses, 503)
    }
