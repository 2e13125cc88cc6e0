"""CORS: no CORS headers at all unless CORS_ORIGINS names the origins allowed."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.api.app import cors_origins
from tests.services.apps import api_settings, running_api

DB = AsyncDatabase[dict[str, Any]]
SHOP = "https://shop.example"
PREFLIGHT = {
    "Origin": SHOP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


async def test_without_cors_origins_no_cors_headers(mongodb_url: str, database: DB) -> None:
    async with running_api(api_settings(mongodb_url, database.name)) as client:
        preflight = await client.options("/orders", headers=PREFLIGHT)
        read = await client.get("/products", headers={"Origin": SHOP})

    assert read.status_code == 200
    for response in (preflight, read):
        assert not any(name.startswith("access-control-") for name in response.headers)


async def test_cors_origins_allow_those_origins_only(mongodb_url: str, database: DB) -> None:
    settings = api_settings(
        mongodb_url, database.name, cors_origins=f" {SHOP}, https://admin.example ,"
    )
    async with running_api(settings) as client:
        preflight = await client.options("/orders", headers=PREFLIGHT)
        read = await client.get("/products", headers={"Origin": SHOP})
        stranger = await client.get("/products", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SHOP
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
    assert "access-control-allow-credentials" not in preflight.headers
    assert read.headers["access-control-allow-origin"] == SHOP
    assert "etag" in read.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in stranger.headers


def test_cors_origins_are_comma_separated() -> None:
    assert cors_origins("") == []
    assert cors_origins(" a , b,,") == ["a", "b"]
