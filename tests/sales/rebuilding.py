"""Helpers of the rebuild tests: the shop's events, a relay, and `consume sales --rebuild`."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

import outbox
from services.sales.figures import Figures, expected_figures
from tests.consumer.conftest import AMQP_URL, Names
from tests.sales.factories import order_payload
from tests.support.auth import AUTH_ENV
from tests.support.processes import free_port

ORDER_TYPES = ["order.placed", "order.cancelled"]
PROGRESS = re.compile(r"bulk \[[# ]*\] ([\d,]+)/([\d,]+) events")


def shop_env(mongodb_url: str, database: AsyncDatabase[Any], **extra: str) -> dict[str, str]:
    """One database for the shop's event store and the sales projection (MONGODB_DB = SALES_DB)."""
    return {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": database.name,
        "SALES_DB": database.name,
        "LOG_LEVEL": "WARNING",
        **AUTH_ENV,
        **extra,
    }


def spawn_rebuild(env: dict[str, str]) -> subprocess.Popen[str]:
    """`boundbox consume sales --rebuild`, its stdout and stderr piped (not a terminal)."""
    return subprocess.Popen(
        [sys.executable, "-m", "boundbox", "consume", "sales", "--rebuild"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def relay(env: dict[str, str], names: Names) -> Iterator[subprocess.Popen[bytes]]:
    """`boundbox relay` publishing this test's outbox to its exchange; stopped afterwards."""
    relay_env = {
        **env,
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": names.exchange,
        "RELAY_PORT": str(free_port()),
        "RELAY_ID": names.test_id,
        "RELAY_POLL_INTERVAL": "0.01",
    }
    process = subprocess.Popen([sys.executable, "-m", "boundbox", "relay"], env=relay_env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


async def place_orders(
    rng: random.Random, count: int, *, prefix: str, products: int, customers: int
) -> None:
    """`count` orders recorded as the shop records them, a third of them cancelled after."""
    for index in range(count):
        order_id = f"{prefix}{index}"
        lines = [
            (f"p{rng.randrange(products)}", rng.randint(1, 4), f"{rng.randint(1, 5000) / 100:.2f}")
            for _ in range(rng.randint(1, 3))
        ]
        payload = order_payload(f"c{rng.randrange(customers)}", lines, order_id=order_id)
        async with outbox.transaction():
            await outbox.record(
                aggregate_type="order", aggregate_id=order_id, name="placed", payload=payload
            )
        if rng.random() < 0.33:
            async with outbox.transaction():
                await outbox.record(
                    aggregate_type="order", aggregate_id=order_id, name="cancelled", payload=payload
                )


async def truth(database: AsyncDatabase[Any]) -> Figures:
    """The figures of every order event in the store, computed from scratch."""
    events = database["outbox"].find({"type": {"$in": ORDER_TYPES}}, {"type": 1, "payload": 1})
    return expected_figures([event async for event in events])


def progress_of(line: str) -> tuple[int, int] | None:
    """(done, total) of a bulk progress line."""
    match = PROGRESS.search(line)
    if match is None:
        return None
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
