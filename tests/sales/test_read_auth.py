"""The sales read API in-process: /sales/* needs a `sales:read` token, operations stay open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from beanie import init_beanie
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.errors import ConfigurationError
from boundbox.settings import Settings
from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.web import Health, create_app
from services.sales import main as sales
from services.sales.documents import DOCUMENT_MODELS, ProductSales
from services.sales.routes import sales_router
from services.security import authenticator_from
from tests.services.api.auth import as_
from tests.support.auth import AUTH_ENV

DB = AsyncDatabase[dict[str, Any]]
AUTH = {name.lower(): value for name, value in AUTH_ENV.items()}


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **(AUTH | overrides))  # type: ignore[call-arg]


@pytest.fixture
async def http(database: DB) -> AsyncIterator[httpx.AsyncClient]:
    """The consumer's HTTP app with the sales routes, on this test's database; no token sent."""
    await init_beanie(database=database, document_models=DOCUMENT_MODELS)
    await ProductSales(id="p-1", units_sold=3, revenue_cents=750).insert()
    app = create_app(
        title="sales under test",
        metrics=ConsumerMetrics("sales"),
        health=lambda: Health(database=True, broker=True, consuming=True),
        routers=[sales_router(authenticator_from(settings()))],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sales.test") as client:
        yield client


async def test_no_token_is_a_401_problem_with_a_challenge(http: httpx.AsyncClient) -> None:
    response = await http.get("/sales/products/p-1")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


async def test_a_bad_token_is_a_401_invalid_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/sales/products/p-1", headers={"Authorization": "Bearer x.y.z"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_a_token_without_sales_read_is_a_403_naming_it(http: httpx.AsyncClient) -> None:
    response = await http.get("/sales/customers/ada", headers=as_("ada", "orders:read"))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "sales:read" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].endswith('scope="sales:read"')


async def test_sales_read_reads_the_figures(http: httpx.AsyncClient) -> None:
    response = await http.get("/sales/products/p-1", headers=as_("analyst", "sales:read"))

    assert response.status_code == 200, response.text
    assert response.json() == {"product_id": "p-1", "units_sold": 3, "revenue": "7.50"}


async def test_operations_routes_stay_open(http: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await http.get(path)).status_code == 200, path


async def test_the_openapi_of_the_sales_routes_shows_the_scope(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]

    operation = paths["/sales/products/{product_id}"]["get"]
    assert {"OAuth2": ["sales:read"]} in operation["security"]
    assert {"401", "403"} <= set(operation["responses"])


def test_jwt_without_a_key_fails_before_the_consumer_starts() -> None:
    with pytest.raises(ConfigurationError, match="AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL"):
        sales.run(settings(auth_secret=""))


def test_auth_mode_none_warns_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="boundbox.sales"):
        authenticator = sales.authenticator_of(settings(auth_mode="none", auth_secret=""))
        sales.authenticator_of(settings())

    assert not authenticator.enabled
    warnings = [r for r in caplog.records if "authentication is OFF" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]
