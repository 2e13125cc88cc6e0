"""Contract test: every event the API records, as the relay would send it, fits /asyncapi.json.

The API takes every command (a cancel capped by a restock to the cap included); each outbox
document then goes through the relay's own `records.parse` and `messages.build`, and the body,
headers and AMQP properties are validated against the served document's schemas for the type.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import broker_user
from relay import messages, records
from services.contracts import PAYLOADS
from services.domain.catalog import STOCK_MAX
from tests.services import factories
from tests.services.apps import api_settings
from tests.support.asyncapi import amqp_properties, validator
from tests.support.auth import JSON

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def every_command(client: httpx.AsyncClient) -> None:
    """Category, products, reprice, restock, orders, cancels: every event type at least once."""
    category = await factories.category(client)
    pan = await factories.product(client, category_id=category["id"], stock=10)
    mug = await factories.product(client, category_id=category["id"], stock=5)
    for path, body in ((f"/products/{pan['id']}/price", {"price": "11.00"}),
                       (f"/products/{pan['id']}/restock", {"quantity": 5})):  # fmt: skip
        response = await client.post(path, json=body)
        assert response.status_code == 200, response.text
    placed = await factories.order(client, (pan["id"], 2), (mug["id"], 1))
    cancelled = await client.post(f"/orders/{placed['id']}/cancel", headers=JSON)
    assert cancelled.status_code == 200, cancelled.text
    # A cancel that returns more than fits under the cap: product.stock_capped.
    capped = await factories.order(client, (mug["id"], 3), (mug["id"], 1))
    restocked = await client.post(
        f"/products/{mug['id']}/restock", json={"quantity": STOCK_MAX - 3}
    )
    assert restocked.status_code == 200, restocked.text
    cancelled = await client.post(f"/orders/{capped['id']}/cancel", headers=JSON)
    assert cancelled.status_code == 200, cancelled.text


async def test_every_recorded_event_as_published_fits_the_asyncapi_document(
    client: httpx.AsyncClient, database: AsyncDatabase[dict[str, Any]]
) -> None:
    client.headers["traceparent"] = TRACEPARENT
    client.headers["X-Request-ID"] = "contract-test"
    await every_command(client)
    served = await client.get("/asyncapi.json")
    assert served.status_code == 200
    document = served.json()
    user_id = broker_user(api_settings("mongodb://unused", "unused").relay_broker_url)

    seen: list[str] = []
    for stored in await factories.events(database):
        outgoing = messages.build(records.parse(stored), user_id=user_id)
        event_type = stored["type"]
        message = f"/components/messages/{event_type}"
        assert document["channels"][event_type]["address"] == outgoing.routing_key
        envelope = json.loads(outgoing.body)
        validator(document, f"{message}/payload").validate(envelope)
        validator(document, f"{message}/headers").validate(outgoing.properties.headers)
        properties = amqp_properties(outgoing.properties)
        validator(document, f"{message}/x-amqp-properties").validate(properties)
        assert properties["headers"]["traceparent"] == TRACEPARENT
        assert properties["correlation_id"] == "contract-test"
        PAYLOADS[event_type].model_validate(envelope["payload"])
        seen.append(event_type)

    assert set(seen) == set(PAYLOADS)


async def test_an_event_that_breaks_the_contract_is_refused_by_the_schema(
    client: httpx.AsyncClient, database: AsyncDatabase[dict[str, Any]]
) -> None:
    await factories.product(client)
    document = (await client.get("/asyncapi.json")).json()
    [stored] = await factories.events(database, type="product.created")
    envelope = json.loads(messages.build(records.parse(stored)).body)
    schema = validator(document, "/components/messages/product.created/payload")

    for broken in (
        {**envelope, "type": "product.restocked"},
        {**envelope, "payload": {**envelope["payload"], "price": 12.5}},
        {**envelope, "payload": {**envelope["payload"], "stock": -1}},
        {key: value for key, value in envelope.items() if key != "occurred_at"},
        {**envelope, "id": "not-a-uuid"},
    ):
        assert list(schema.iter_errors(broken)), broken
