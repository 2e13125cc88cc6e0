"""The docs work offline, and the OpenAPI document lists only the errors the API can give."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from services.api import create_app
from services.api.errors import _CODES
from services.api.schemas.common import PROBLEM_JSON, Problem
from tests.services.apps import api_settings
from tests.support.docs import assert_served_offline

# Codes the error handlers set themselves, beside the one of each status (errors._CODES).
SPECIFIC_CODES = {
    409: {"insufficient_stock", "invalid_state", "concurrent_update"},
    422: {"idempotency_key_reused"},
}
# The operations whose input can be invalid: a body, a constrained query or header.
VALIDATING = {
    ("post", "/categories"),
    ("post", "/products"),
    ("post", "/products/{product_id}/price"),
    ("post", "/products/{product_id}/restock"),
    ("post", "/orders"),
    ("post", "/orders/{order_id}/cancel"),
    ("get", "/products"),
}
BY_ID = [
    "/categories/{id}",
    "/categories/{id}/events",
    "/products/{id}",
    "/products/{id}/events",
    "/orders/{id}",
    "/orders/{id}/events",
]
ODD_IDS = ["x", "0" * 25, "g" * 24, "a" * 500, "é", "6650f1c2a4b5c6d7e8f90123.json"]


@pytest.fixture
async def docs() -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifespan: the docs need no database."""
    app = create_app(api_settings("mongodb://127.0.0.1:1", "unused"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


@pytest.fixture
async def document(docs: httpx.AsyncClient) -> dict[str, Any]:
    response = await docs.get("/openapi.json")
    assert response.status_code == 200
    loaded: dict[str, Any] = response.json()
    return loaded


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_every_asset_from_the_api_itself(
    docs: httpx.AsyncClient, page: str
) -> None:
    urls = await assert_served_offline(docs, page)

    assert "/openapi.json" in urls
    script = "swagger-ui-bundle.js" if page == "/docs" else "redoc.standalone.js"
    assert any(url.endswith(script) for url in urls), urls
    assert any(url.endswith("favicon.png") for url in urls), urls


async def test_every_error_response_is_a_problem_with_examples_of_its_own_status(
    document: dict[str, Any],
) -> None:
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    problem_schema = Draft202012Validator(
        {"$ref": "urn:openapi#/components/schemas/Problem"},
        registry=Registry().with_resource("urn:openapi", resource),
    )
    checked = 0
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = f"{method.upper()} {path} {status}"
            assert list(response["content"]) == [PROBLEM_JSON], where
            content = response["content"][PROBLEM_JSON]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, where
            assert content["examples"], where
            for example in content["examples"].values():
                value = example["value"]
                Problem.model_validate(value)
                problem_schema.validate(value)
                assert value["status"] == int(status), where
                assert value["title"] == HTTPStatus(int(status)).phrase, where
                assert value["code"] in {_CODES[int(status)], *SPECIFIC_CODES.get(int(status), ())}
                checked += 1
    assert checked > 50


async def test_only_operations_whose_input_can_be_invalid_document_422(
    document: dict[str, Any],
) -> None:
    documented = {
        (method, path)
        for method, path, operation in operations(document)
        if "422" in operation["responses"]
    }

    assert documented == VALIDATING
    assert "HTTPValidationError" not in json.dumps(document)


async def test_an_odd_id_is_a_404_never_a_422(client: httpx.AsyncClient) -> None:
    for path in BY_ID:
        for odd in ODD_IDS:
            response = await client.get(path.format(id=odd))

            assert response.status_code == 404, (path, odd, response.text)
            assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_listing_with_a_bad_limit_is_the_documented_422(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/products", params={"limit": 0})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_the_asyncapi_document_is_open(docs: httpx.AsyncClient) -> None:
    response = await docs.get("/asyncapi.json", headers={"Authorization": ""})

    assert response.status_code == 200
    assert response.json()["asyncapi"] == "3.0.0"
