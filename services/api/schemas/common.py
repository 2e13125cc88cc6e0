"""Shapes shared by every resource: ids, error bodies and their OpenAPI entries."""

from __future__ import annotations

from http import HTTPStatus
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

    # A problem may carry extensions, e.g. `product_id` for a 409; each status has its examples.
    model_config = ConfigDict(extra="allow")

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


PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"  # registered there by services.api.openapi
_ID = "6650f1c2a4b5c6d7e8f90123"


def _example(status: int, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    return {
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": "9f1c2e4b0d6a4e59a1b2c3d4e5f60718",
        **extensions,
    }


EXAMPLES: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "missing_token": _example(401, "unauthorized", "a bearer token is required"),
        "expired_token": _example(401, "unauthorized", "the token has expired"),
    },
    403: {
        "missing_scope": _example(
            403,
            "forbidden",
            "this needs the scope catalog:write",
            missing_scopes=["catalog:write"],
        ),
    },
    404: {"not_found": _example(404, "not_found", f"product {_ID!r} not found")},
    409: {
        "insufficient_stock": _example(
            409,
            "insufficient_stock",
            f"not enough stock of product 'Mug' ({_ID}): 3 requested, 1 available",
            product_id=_ID,
            product_name="Mug",
            requested=3,
            available=1,
        ),
        "invalid_state": _example(409, "invalid_state", f"order {_ID!r} is already cancelled"),
        "concurrent_update": _example(
            409, "concurrent_update", f"order {_ID!r} changed while being updated; retry"
        ),
    },
    412: {
        "stale_version": _example(
            412, "stale_version", f"product {_ID!r} is at version 4", current_version=4
        ),
    },
    413: {
        "payload_too_large": _example(
            413, "payload_too_large", "the request body is larger than 65536 bytes"
        ),
    },
    415: {
        "unsupported_media_type": _example(
            415,
            "unsupported_media_type",
            "a command takes a JSON body: send Content-Type: application/json",
        ),
    },
    422: {
        "validation_failed": _example(
            422,
            "validation_failed",
            "the request is invalid",
            errors=[
                {
                    "loc": ["body", "price"],
                    "msg": "Input should be greater than 0",
                    "type": "greater_than",
                }
            ],
        ),
        "idempotency_key_reused": _example(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ),
    },
    503: {
        "unavailable": _example(503, "unavailable", "the database is unreachable; try again later"),
    },
}
"""Each error status: what the API answers, by case (OpenAPI examples)."""


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error statuses (and 503)."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            # The only media type the API sends errors as (the schema is added by
            # services.api.openapi: without a `model`, FastAPI adds no `application/json`).
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": PROBLEM_REF},
                    "examples": {
                        name: {"summary": name.replace("_", " "), "value": value}
                        for name, value in EXAMPLES[status].items()
                    },
                }
            },
        }
        for status in (*statuses, 503)
    }
