"""The OpenAPI document as FastAPI builds it, made to say only what the API really answers.

- Errors are problem documents (`application/problem+json`): the `Problem` schema is added to
  the components here, since `problems()` names it without a `model` (a model would also list
  an `application/json` error body the API never sends).
- FastAPI documents a 422 `HTTPValidationError` for every operation with a parameter; the API
  answers invalid input with a problem document instead, and only where input can be invalid.
  Those operations list 422 in their `problems(...)`, and FastAPI's own entry goes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from services.api.schemas.common import Problem

SCHEMAS = "#/components/schemas/"
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Replaces `app.openapi` by FastAPI's, finished as above (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def finish(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template=SCHEMAS + "{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for operation in _operations(document):
        if _is_fastapi_validation(operation["responses"].get("422")):
            del operation["responses"]["422"]
    for name in FASTAPI_VALIDATION:  # a schema first, then the one only it refers to
        rest = {key: value for key, value in schemas.items() if key != name}
        if f'"{SCHEMAS}{name}"' not in json.dumps([document["paths"], rest]):
            schemas.pop(name, None)
    return document


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in document["paths"].values() for operation in path.values()]


def _is_fastapi_validation(response: dict[str, Any] | None) -> bool:
    if response is None:
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == f"{SCHEMAS}HTTPValidationError")
