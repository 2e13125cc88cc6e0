"""Every error becomes a JSON problem document (RFC 9457); HTTP statuses are chosen here only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException
from starlette.responses import Response

from boundbox.errors import BoundboxError
from outbox import TransactionFailedError
from services.api.database import DatabaseUnavailableError
from services.domain import errors as domain
from services.security import AuthProblem

log = logging.getLogger("boundbox.api")

RETRY_AFTER_SECONDS = 5
PROBLEM_JSON = "application/problem+json"

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "stale_version",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    500: "internal_error",
    503: "unavailable",
}


class IdempotencyKeyReusedError(BoundboxError):
    """An Idempotency-Key already answered a different request."""


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code or _CODES.get(status, "error"),
        "detail": detail,
    }
    if request is not None and (request_id := request.scope.get("state", {}).get("request_id")):
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_errors(errors: Any) -> list[dict[str, Any]]:
    # Only loc, msg and type: `input` could echo a huge body, `ctx` holds exceptions.
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    return problem(
        422, "the request is invalid", request=request, errors=_field_errors(exc.errors())
    )


async def _invalid_value(request: Request, exc: domain.InvalidValueError) -> Response:
    kind = "unknown_reference" if isinstance(exc, domain.UnknownReferenceError) else "value_error"
    errors = [{"loc": ["body", *exc.field], "msg": exc.message, "type": kind}]
    return problem(422, exc.message, request=request, errors=errors)


async def _not_found(request: Request, exc: domain.NotFoundError) -> Response:
    return problem(404, str(exc), request=request)


async def _insufficient_stock(request: Request, exc: domain.InsufficientStockError) -> Response:
    return problem(
        409,
        str(exc),
        code="insufficient_stock",
        request=request,
        product_id=exc.product_id,
        product_name=exc.product_name,
        requested=exc.requested,
        available=exc.available,
    )


async def _invalid_state(request: Request, exc: domain.InvalidStateError) -> Response:
    return problem(409, str(exc), code="invalid_state", request=request)


async def _concurrent_update(request: Request, exc: domain.ConcurrentUpdateError) -> Response:
    return problem(409, f"{exc}; retry", code="concurrent_update", request=request)


async def _stale(request: Request, exc: domain.StaleVersionError) -> Response:
    return problem(412, str(exc), request=request, current_version=exc.current)


async def _key_reused(request: Request, exc: IdempotencyKeyReusedError) -> Response:
    return problem(422, str(exc), code="idempotency_key_reused", request=request)


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("MongoDB unavailable: %s", exc)
    return problem(
        503,
        "the database is unreachable; try again later",
        request=request,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# FastAPI answers 400 when json.loads fails with anything but a JSONDecodeError; that is bad
# input like any malformed JSON, which it answers with 422, so it gets the same answer.
_UNDECODABLE = (
    ValueError,  # not UTF-8 (UnicodeDecodeError), or an integer of over 4300 digits
    RecursionError,  # nested deeper than the JSON decoder recurses
)


def _undecodable_body(request: Request) -> Response:
    msg = "the body cannot be decoded as JSON (not UTF-8, too deeply nested, or a huge number)"
    errors = [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]
    return problem(422, msg, request=request, errors=errors)


async def _http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 400 and isinstance(exc.__cause__, _UNDECODABLE):
        return _undecodable_body(request)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, detail, request=request, headers=exc.headers)


async def _auth(request: Request, exc: AuthProblem) -> Response:
    extensions = {"missing_scopes": list(exc.missing_scopes)} if exc.missing_scopes else {}
    return problem(
        exc.status_code,
        str(exc.detail),
        code=exc.code,
        request=request,
        headers=exc.headers,
        **extensions,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The last line of defence: log the traceback, tell the client nothing about it.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "an unexpected error occurred", request=request)


Handler = Callable[[Request, Any], Awaitable[Response]]


def add_error_handlers(app: FastAPI) -> None:
    handlers: dict[type[Exception], Handler] = {
        RequestValidationError: _validation,
        domain.InvalidValueError: _invalid_value,
        domain.NotFoundError: _not_found,
        domain.InsufficientStockError: _insufficient_stock,
        domain.InvalidStateError: _invalid_state,
        domain.ConcurrentUpdateError: _concurrent_update,
        domain.StaleVersionError: _stale,
        IdempotencyKeyReusedError: _key_reused,
        DatabaseUnavailableError: _unavailable,
        ConnectionFailure: _unavailable,
        TransactionFailedError: _unavailable,
        AuthProblem: _auth,
        HTTPException: _http,
        Exception: _unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
