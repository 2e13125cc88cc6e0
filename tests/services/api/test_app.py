from typing import Any

import httpx

COMMANDS = [
    ("/categories", "post"),
    ("/products", "post"),
    ("/products/{product_id}/price", "post"),
    ("/products/{product_id}/restock", "post"),
    ("/orders", "post"),
    ("/orders/{order_id}/cancel", "post"),
]


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


async def test_every_command_is_documented_with_its_headers_and_errors(
    client: httpx.AsyncClient,
) -> None:
    paths = (await openapi(client))["paths"]

    for path, method in COMMANDS:
        operation = paths[path][method]
        assert operation["description"], f"{method} {path} has no docstring"
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "idempotency-key" in headers
        assert {"422", "503"} <= set(operation["responses"])


async def test_request_bodies_have_examples(client: httpx.AsyncClient) -> None:
    schemas = (await openapi(client))["components"]["schemas"]

    for name in ("CategoryCreate", "ProductCreate", "PriceChange", "Restock", "OrderCreate"):
        assert schemas[name]["examples"], name
        assert schemas[name]["additionalProperties"] is False, name


async def test_the_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()
