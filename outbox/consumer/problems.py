"""Every error answer of a consumer's HTTP port is a JSON problem document (RFC 9457).

Unknown paths (404), wrong methods (405), invalid parameters (422) and unexpected errors (500)
included, and whatever status a service's own route raises with HTTPException.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("boundbox.consumer")

PROBLEM_JSON = "application/problem+json"
CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid",
    500: "internal_error",
    503: "unavailable",
}


def problem(status: int, detail: str, *, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The problem document of `status`: title, status, code and detail."""
    body = {
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": CODES.get(status, "error"),
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return problem(error.status_code, str(error.detail), headers=error.headers)


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = "; ".join(
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
    )
    return problem(422, fields or "invalid request")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return problem(500, "an unexpected error; it is logged")


def install(app: FastAPI) -> None:
    """Makes every error answer of `app` a problem document."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _unexpected)
