"""Chaos fixtures: the broker fixtures of the consumer tests, and stacks killed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import pytest
from aio_pika.abc import AbstractRobustConnection

from tests.chaos.stack import ChaosStack
from tests.consumer.conftest import AMQP_URL, Names, broker, channel, names, test_id

__all__ = ["broker", "channel", "names", "test_id"]  # the broker fixtures, shared

StartStack = Callable[..., Awaitable[ChaosStack]]


@pytest.fixture
async def start_stack(
    names: Names, broker: AbstractRobustConnection, tmp_path: Path
) -> AsyncIterator[StartStack]:
    """`await start_stack(mongodb_url=…, amqp_url=…, replicas=…)`: a running stack, killed after
    the test; `replicas` runs several APIs, relays or consumers ({"relay": 2})."""
    stacks: list[ChaosStack] = []

    async def start(
        *,
        mongodb_url: str,
        amqp_url: str = AMQP_URL,
        replicas: Mapping[str, int] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> ChaosStack:
        stack = ChaosStack(
            names=names,
            broker=broker,
            mongodb_url=mongodb_url,
            log_dir=tmp_path,
            amqp_url=amqp_url,
            replicas=replicas,
            extra_env=extra_env,
        )
        stacks.append(stack)
        return await stack.start()

    try:
        yield start
    finally:
        for stack in stacks:
            await stack.close()
