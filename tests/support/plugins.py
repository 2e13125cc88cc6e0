"""The broker plugins tests need, enabled once per run on the shared RabbitMQ, or a clear error.

Ordered consumers need the consistent-hash exchange type (`rabbitmq_consistent_hash_exchange`,
shipped with RabbitMQ, off by default). The machines of a run are new each time, so the suite
enables it at its start where `rabbitmq-plugins` runs (tests/conftest.py); elsewhere the broker
must have it, and the tests that need it fail with one line saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid

import aio_pika
import pytest
from aiormq.exceptions import ConnectionCommandInvalid

from outbox.consumer.topology import HASH_EXCHANGE_TYPE, HASH_PLUGIN

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def _has_hash_exchange(amqp_url: str) -> bool:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        name = f"bbtest.probe.{uuid.uuid4().hex[:8]}"
        await channel.declare_exchange(name, HASH_EXCHANGE_TYPE, auto_delete=True)
        await channel.exchange_delete(name)
    except ConnectionCommandInvalid:
        return False
    finally:
        await connection.close()
    return True


def _enable() -> str:
    """Runs `rabbitmq-plugins enable`; what went wrong, or ''."""
    try:
        done = subprocess.run(
            ["rabbitmq-plugins", "enable", HASH_PLUGIN],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return "" if done.returncode == 0 else (done.stderr or done.stdout).strip()


def enable_consistent_hash(amqp_url: str = AMQP_URL) -> None:
    """Enables the exchange type if the broker lacks it and can be told to; else nothing (a
    broker that is not there fails the tests that use it, each on its own)."""
    with contextlib.suppress(Exception):
        if not asyncio.run(_has_hash_exchange(amqp_url)):
            _enable()


def ensure_consistent_hash(amqp_url: str = AMQP_URL) -> None:
    """Makes sure the broker at `amqp_url` has the exchange type; fails the test otherwise."""
    if asyncio.run(_has_hash_exchange(amqp_url)):
        return
    problem = _enable()
    if not asyncio.run(_has_hash_exchange(amqp_url)):
        pytest.fail(
            f"RabbitMQ has no {HASH_EXCHANGE_TYPE} exchange type and it could not be enabled"
            f" ({problem or 'enabled, yet still unknown'}): run"
            f" `rabbitmq-plugins enable {HASH_PLUGIN}` on the broker",
            pytrace=False,
        )
