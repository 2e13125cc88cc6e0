"""Who may call what: 401 without a valid token, 403 without the scope, open health and docs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.errors import ConfigurationError
from services.api import create_app
from services.security.scopes import SCOPES
from tests.badinput.problems import problem
from tests.services import factories
from tests.services.api.auth import as_, bearer
from tests.services.apps import api_settings, running_api
from tests.services.security.jwks_server import JwksServer, jwk
from tests.services.security.jwts import claims, handmade, hs256, public_pem, rsa_key, signed
from tests.support.auth import JSON

DB = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def anonymous(mongodb_url: str, database: DB) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API (verifying tests' HS256 tokens) that sends no token by itself."""
    async with running_api(api_settings(mongodb_url, database.name), headers={}) as client:
        yield client


def unauthorized(response: httpx.Response, challenge: str) -> dict[str, Any]:
    assert response.headers["WWW-Authenticate"] == challenge
    return problem(response, 401, "unauthorized")


async def test_no_token_is_a_401_with_a_bearer_challenge(anonymous: httpx.AsyncClient) -> None:
    for response in (
        await anonymous.post("/categories", json=factories.category_body()),
        await anonymous.get("/products"),
        await anonymous.get("/metrics"),
        await anonymous.get("/products", headers={"Authorization": "Basic YWRhOnB3"}),
    ):
        unauthorized(response, "Bearer")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (hs256(claims(), "a-secret-the-api-does-not-know-at-all"), "Signature"),
        (hs256(claims(exp=int(time.time()) - 60)), "expired"),
        (hs256(claims(nbf=int(time.time()) + 3600)), "not valid yet"),
        (hs256(claims(iss="https://evil.example")), "issuer"),
        (hs256(claims(aud="another-api")), "Audience"),
        (handmade({"alg": "none"}, claims(), hmac_key=None), "algorithm"),
        ("garbage", "well-formed"),
    ],
    ids=["bad-signature", "expired", "nbf-future", "wrong-iss", "wrong-aud", "alg-none", "junk"],
)
async def test_an_invalid_token_is_a_401_invalid_token(
    anonymous: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, token: str, why: str
) -> None:
    caplog.set_level(logging.DEBUG)

    response = await anonymous.get("/products", headers=bearer(token))

    body = unauthorized(response, 'Bearer error="invalid_token"')
    assert why in body["detail"]
    assert token not in response.text
    assert token not in caplog.text


async def test_a_token_without_the_scope_is_a_403_naming_it(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(
        "/categories", json=factories.category_body(), headers=as_("ada", "orders:write")
    )

    body = problem(response, 403, "forbidden")
    assert body["missing_scopes"] == ["catalog:write"]
    assert "catalog:write" in body["detail"]
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="catalog:write"'
    )


async def test_catalog_reads_need_a_valid_token_of_any_scope(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)
    no_scope = as_("ada")

    for path in (
        "/products",
        f"/products/{product['id']}",
        f"/categories/{product['category_id']}",
    ):
        assert (await anonymous.get(path)).status_code == 401
        assert (await anonymous.get(path, headers=no_scope)).status_code == 200, path


async def test_every_events_route_needs_events_read(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    order = await factories.order(client)
    product_id = order["items"][0]["product_id"]
    category_id = (await client.get(f"/products/{product_id}")).json()["category_id"]
    everything_else = as_("ada@example.com", *(s for s in SCOPES if s != "events:read"))

    for path in (
        f"/orders/{order['id']}/events",
        f"/products/{product_id}/events",
        f"/categories/{category_id}/events",
    ):
        response = await anonymous.get(path, headers=everything_else)
        assert problem(response, 403, "forbidden")["missing_scopes"] == ["events:read"]
        assert (await anonymous.get(path, headers=as_("auditor", "events:read"))).status_code == 200


async def test_catalog_commands_need_catalog_write(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    product = await factories.product(client)
    writer = as_("shopkeeper", "catalog:write")
    commands = [
        ("/categories", factories.category_body()),
        ("/products", factories.product_body(product["category_id"])),
        (f"/products/{product['id']}/price", {"price": "3.00"}),
        (f"/products/{product['id']}/restock", {"quantity": 1}),
    ]

    for path, body in commands:
        refused = await anonymous.post(path, json=body, headers=as_("ada", "orders:write"))
        assert refused.status_code == 403, path
        assert (await anonymous.post(path, json=body, headers=writer)).status_code in (200, 201)


async def test_health_and_docs_are_open_metrics_need_metrics_read(
    anonymous: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert (await anonymous.get(path)).status_code == 200, path

    forbidden = await anonymous.get("/metrics", headers=as_("ada", "orders:read"))
    allowed = await anonymous.get("/metrics", headers=as_("prometheus", "metrics:read"))

    assert problem(forbidden, 403)["missing_scopes"] == ["metrics:read"]
    assert allowed.status_code == 200
    assert "boundbox_api_requests_total" in allowed.text


async def test_openapi_documents_the_schemes_scopes_and_refusals(
    anonymous: httpx.AsyncClient,
) -> None:
    document = (await anonymous.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    paths = document["paths"]

    assert schemes["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["BearerToken"]["description"],
    }
    assert schemes["OAuth2"]["flows"]["clientCredentials"]["scopes"] == SCOPES
    place = paths["/orders"]["post"]
    assert {"OAuth2": ["orders:write"]} in place["security"]
    assert any("BearerToken" in requirement for requirement in place["security"])
    assert {"401", "403", "415"} <= set(place["responses"])
    assert {"401", "403"} <= set(paths["/metrics"]["get"]["responses"])
    assert {"OAuth2": ["metrics:read"]} in paths["/metrics"]["get"]["security"]
    assert {"OAuth2": []} in paths["/products"]["get"]["security"]
    for open_path in ("/healthz", "/readyz"):
        assert "security" not in paths[open_path]["get"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            if path not in ("/healthz", "/readyz"):
                assert "401" in operation["responses"], (method, path)


async def test_a_public_key_verifies_rs256_and_refuses_hs256_keyed_with_it(
    mongodb_url: str, database: DB
) -> None:
    pem = public_pem(rsa_key())
    settings = api_settings(mongodb_url, database.name, auth_secret="", auth_public_key=pem)
    rs256 = signed(claims(scope="catalog:write"), rsa_key(), "RS256")
    confused = handmade({"alg": "HS256"}, claims(scope="catalog:write"), hmac_key=pem.encode())

    async with running_api(settings, headers={}) as client:
        accepted = await client.get("/products", headers=bearer(rs256))
        refused = await client.get("/products", headers=bearer(confused))

    assert accepted.status_code == 200
    unauthorized(refused, 'Bearer error="invalid_token"')


async def test_auth_mode_none_checks_nothing_and_warns_once(
    mongodb_url: str, database: DB, caplog: pytest.LogCaptureFixture
) -> None:
    settings = api_settings(mongodb_url, database.name, auth_mode="none", auth_secret="")

    with caplog.at_level(logging.WARNING, logger="boundbox.api"):
        async with running_api(settings, headers={}) as client:
            created = await client.post("/categories", json=factories.category_body())
            cancelled = await client.post(
                f"/orders/{(await factories.order(client))['id']}/cancel", headers=JSON
            )
            metrics = await client.get("/metrics")

    assert (created.status_code, cancelled.status_code, metrics.status_code) == (201, 200, 200)
    warnings = [r for r in caplog.records if "authentication is OFF" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]


def test_jwt_without_a_key_fails_at_create_app_with_one_line(mongodb_url: str) -> None:
    settings = api_settings(mongodb_url, "unused", auth_secret="")

    with pytest.raises(ConfigurationError) as raised:
        create_app(settings)

    assert "\n" not in str(raised.value)
    assert "AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL" in str(raised.value)


async def test_a_jwks_url_verifies_tokens_and_its_outage_is_a_503(
    mongodb_url: str, database: DB
) -> None:
    headers = bearer(signed(claims(), rsa_key(), "RS256", kid="rsa-1"))
    with JwksServer().running() as jwks:
        jwks.keys = [jwk(rsa_key(), "rsa-1")]
        settings = api_settings(mongodb_url, database.name, auth_secret="", auth_jwks_url=jwks.url)
        async with running_api(settings, headers=headers) as client:
            served = await client.get("/products")
        jwks.stop()
        async with running_api(settings, headers=headers) as client:  # nothing cached yet
            down = await client.get("/products")

    assert served.status_code == 200
    assert problem(down, 503, "unavailable")["detail"].startswith("the token signing keys")
    assert down.headers["Retry-After"]
