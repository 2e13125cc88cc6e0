"""The consumer's HTTP port serves its docs with their own files, never from a CDN."""

from __future__ import annotations

import httpx
import pytest

from outbox.consumer.metrics import ConsumerMetrics
from outbox.consumer.web import Health, create_app
from tests.support.docs import assert_served_offline


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_every_asset_from_the_consumer_itself(page: str) -> None:
    app = create_app(
        title="consumer under test",
        metrics=ConsumerMetrics("docs-test"),
        health=lambda: Health(database=True, broker=True, consuming=True),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://consumer.test") as client:
        urls = await assert_served_offline(client, page)

    assert "/openapi.json" in urls
