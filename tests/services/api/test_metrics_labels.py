"""Invented HTTP methods and paths cannot grow /metrics: they share OTHER and unmatched labels."""

import httpx

from tests.services.api.routers.test_health import sample

REQUESTS = "boundbox_api_requests_total"


async def test_unknown_methods_are_labelled_other_and_the_text_stays_small(
    client: httpx.AsyncClient,
) -> None:
    for n in range(200):
        await client.request(f"INVENTED{n}", f"/no/such/path/{n}")
    text = (await client.get("/metrics")).text

    assert "INVENTED" not in text
    assert "/no/such/path" not in text
    assert sample(text, REQUESTS, method="OTHER", route="<unmatched>", status="404") == 200
    lines = [line for line in text.splitlines() if line.startswith(REQUESTS + "{")]
    assert len(lines) <= 5  # one series per known label set, not one per request


async def test_known_methods_keep_their_own_label(client: httpx.AsyncClient) -> None:
    await client.request("DELETE", "/products")
    await client.request("PATCH", "/products")
    text = (await client.get("/metrics")).text

    assert sample(text, REQUESTS, method="DELETE", route="/products", status="405") == 1
    assert sample(text, REQUESTS, method="PATCH", route="/products", status="405") == 1
