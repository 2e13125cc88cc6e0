"""Orders placed through the API reach the sales projection: API, relay and consumer processes.

Three `boundbox` processes on the dev database (or MONGODB_URL) and the real RabbitMQ: the API
records order events in its outbox, the relay publishes them, `consume sales` projects them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from pymongo import AsyncMongoClient

from relay.archive import read_stream
from tests.consumer.conftest import AMQP_URL, Names
from tests.sales.conftest import StartSales
from tests.support.asyncapi import received_properties, validator
from tests.support.audit import assert_state_is_events
from tests.support.auth import AUTH_ENV, JSON, admin_headers
from tests.support.processes import eventually, free_port

ORDERS = 30
PRODUCTS = 4


def spawn(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "boundbox", command], env=env)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=30)


@pytest.fixture
def shop_env(mongodb_url: str, names: Names) -> dict[str, str]:
    """The environment of the API and the relay: the shop's own database on this exchange."""
    return {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": f"bbshop_{names.prefix.rsplit('.', 1)[-1]}",
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": names.exchange,
        "API_PORT": str(free_port()),
        "RELAY_PORT": str(free_port()),
        "RELAY_ID": names.test_id,
        "RELAY_POLL_INTERVAL": "0.01",
        "ARCHIVE_QUEUE": names.queue("archive"),  # deleted with the test's broker objects
        "LOG_LEVEL": "WARNING",
        **AUTH_ENV,
    }


async def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=2) as http:

        async def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}")
            try:
                return (await http.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, within=30, interval=0.05)


async def test_the_projection_equals_the_truth_computed_from_the_orders(
    start_sales: StartSales,
    shop_env: dict[str, str],
    mongo_client: AsyncMongoClient[dict[str, Any]],
    broker: AbstractRobustConnection,
) -> None:
    sales = await start_sales()  # its queue is bound before the first event is published
    api = spawn("api", shop_env)
    relay = spawn("relay", shop_env)
    try:
        api_url = f"http://127.0.0.1:{shop_env['API_PORT']}"
        await wait_http(f"{api_url}/readyz", api)
        await wait_http(f"http://127.0.0.1:{shop_env['RELAY_PORT']}/healthz", relay)
        async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=admin_headers()) as shop:
            truth = await place_and_cancel_orders(shop, random.Random(6))

        async def projected() -> bool:
            for product_id, (units, revenue) in truth.products.items():
                body = (await sales.http.get(f"/sales/products/{product_id}")).json()
                if (body.get("units_sold"), body.get("revenue")) != (units, str(revenue)):
                    return False
            for customer, (standing, placed, cancelled) in truth.customers.items():
                body = (await sales.http.get(f"/sales/customers/{customer}")).json()
                if (body.get("orders"), body.get("placed"), body.get("cancelled")) != (
                    standing,
                    placed,
                    cancelled,
                ):
                    return False
            return True

        await eventually(projected, within=60, interval=0.2)
        assert (
            await sales.metric("boundbox_consumer_processed_total", type="order.placed") == ORDERS
        )
        assert await sales.metric(
            "boundbox_consumer_processed_total", type="order.cancelled"
        ) == sum(c for _, _, c in truth.customers.values())
        assert await sales.metric("boundbox_consumer_dead_lettered_total") == 0

        async def published() -> bool:
            pending = {"status": {"$ne": "published"}}
            return (
                await mongo_client[shop_env["MONGODB_DB"]]["outbox"].count_documents(pending) == 0
            )

        await eventually(published, within=30, interval=0.1)
        summary = await assert_state_is_events(shop_env | {"SALES_DB": sales.env["SALES_DB"]})
        assert f"{ORDERS} orders" in summary
        async with httpx.AsyncClient(base_url=api_url, timeout=10) as shop:
            contract = (await shop.get("/asyncapi.json")).json()
        await every_archived_message_fits(broker, shop_env["ARCHIVE_QUEUE"], contract)
    finally:
        assert stop(relay) == 0
        stop(api)  # its exit code is the API's business (tests/services)
        await mongo_client.drop_database(shop_env["MONGODB_DB"])


async def every_archived_message_fits(
    broker: AbstractRobustConnection, archive: str, contract: dict[str, Any]
) -> None:
    """Every message the relay published, read back from the archive stream, fits the
    AsyncAPI document: the envelope and payload, the headers and the AMQP properties."""
    channel = await broker.channel()
    seen: set[str] = set()
    try:
        async with aclosing(read_stream(channel, archive, idle_timeout=2.0)) as messages:
            async for message in messages:
                assert message.routing_key is not None and message.message_id is not None
                kind = f"/components/messages/{message.routing_key}"
                validator(contract, f"{kind}/payload").validate(json.loads(message.body))
                validator(contract, f"{kind}/headers").validate(
                    received_properties(message)["headers"]
                )
                validator(contract, f"{kind}/x-amqp-properties").validate(
                    received_properties(message)
                )
                seen.add(message.routing_key)
    finally:
        await channel.close()
    assert {"order.placed", "order.cancelled", "product.stock_reserved"} <= seen, seen


class Truth:
    """What the projection must show, computed from the API's answers."""

    def __init__(self) -> None:
        self.products: dict[str, tuple[int, Decimal]] = {}
        self.customers: dict[str, tuple[int, int, int]] = {}

    def add(self, order: dict[str, Any], sign: int) -> None:
        for item in order["items"]:
            units, revenue = self.products.get(item["product_id"], (0, Decimal(0)))
            self.products[item["product_id"]] = (
                units + sign * item["quantity"],
                revenue + sign * Decimal(item["line_total"]),
            )
        standing, placed, cancelled = self.customers.get(order["customer"], (0, 0, 0))
        self.customers[order["customer"]] = (
            standing + sign,
            placed + (sign > 0),
            cancelled + (sign < 0),
        )


async def place_and_cancel_orders(shop: httpx.AsyncClient, rng: random.Random) -> Truth:
    category = (await shop.post("/categories", json={"name": "E2E"})).json()
    products = []
    for index in range(PRODUCTS):
        response = await shop.post(
            "/products",
            json={
                "name": f"Product {index}",
                "price": f"{rng.randint(1, 5000) / 100:.2f}",
                "category_id": category["id"],
                "stock": 100_000,
            },
        )
        assert response.status_code == 201, response.text
        products.append(response.json()["id"])
    truth = Truth()
    for _ in range(ORDERS):
        customer = rng.choice(["ada", "bob", "cy", "dan"])
        chosen = rng.sample(products, rng.randint(1, len(products)))
        items = [{"product_id": p, "quantity": rng.randint(1, 5)} for p in chosen]
        response = await shop.post("/orders", json={"customer": customer, "items": items})
        assert response.status_code == 201, response.text
        order = response.json()
        truth.add(order, +1)
        if rng.random() < 0.35:
            response = await shop.post(f"/orders/{order['id']}/cancel", headers=JSON)
            assert response.status_code == 200, response.text
            truth.add(order, -1)
    return truth
