import re
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from tests.services import factories

DB = AsyncDatabase[dict[str, Any]]


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = (
        rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$"
        if labels
        else (rf"^{re.escape(name)} (\S+)$")
    )
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match.group(1)) if match else None


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    product = await factories.product(client)
    await client.get(f"/products/{product['id']}")
    await client.get("/products/6650f1c2a4b5c6d7e8f90123")
    await client.get(f"/no/such/{product['id']}")

    text = (await client.get("/metrics")).text

    requests = "boundbox_api_requests_total"
    assert sample(text, requests, method="POST", route="/products", status="201") == 1
    assert sample(text, requests, method="GET", route="/products/{product_id}", status="200") == 1
    assert sample(text, requests, method="GET", route="/products/{product_id}", status="404") == 1
    assert sample(text, requests, method="GET", route="<unmatched>", status="404") == 1
    assert product["id"] not in text  # ids never become labels
    latency = "boundbox_api_request_duration_seconds_count"
    assert sample(text, latency, method="POST", route="/categories", status="201") == 1


async def test_metrics_report_the_outbox_backlog_at_scrape_time(
    client: httpx.AsyncClient, database: DB
) -> None:
    text = (await client.get("/metrics")).text
    assert sample(text, "boundbox_outbox_pending_events") == 0
    assert sample(text, "boundbox_outbox_oldest_pending_age_seconds") == 0

    await factories.category(client)
    await factories.category(client)
    text = (await client.get("/metrics")).text
    assert sample(text, "boundbox_outbox_pending_events") == 2
    age = sample(text, "boundbox_outbox_oldest_pending_age_seconds")
    assert age is not None and 0 <= age < 60

    await database["outbox"].update_many({}, {"$set": {"status": "published"}})
    text = (await client.get("/metrics")).text
    assert sample(text, "boundbox_outbox_pending_events") == 0
    assert sample(text, "boundbox_outbox_oldest_pending_age_seconds") == 0
