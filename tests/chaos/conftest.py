"""Chaos fixtures: the broker fixtures of the consumer tests, and stacks killed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
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
    """`await start_stack(mongodb_url=…, amqp_url=…)`: a running stack, killed after the test."""
    stacks: list[ChaosStack] = []

    async def start(*, mongodb_url: str, amqp_url: str = AMQP_URL) -> ChaosStack:
        stack = ChaosStack(
            names=names, broker=broker, mongodb_url=mongodb_url, log_dir=tmp_path, amqp_url=amqp_url
        )
        stacks.append(stack)
        return await stack.start()

    try:
        yield start
    finally:
        for stack in stacks:
            await stack.close()
