"""`boundbox consume`: the tail consumer and the errors of the command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from aio_pika.abc import AbstractRobustChannel

from outbox.consumer.tail import as_line
from tests.consumer.conftest import AMQP_URL, Names
from tests.consumer.messages import event_message, publish, raw_message, take
from tests.support.auth import AUTH_ENV


def test_an_unknown_consumer_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "consume", "billing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "boundbox: unknown consumer 'billing': choose 'sales' or 'tail'\n"


async def read_line(stream: asyncio.StreamReader, *, within: float = 15) -> bytes:
    line = await asyncio.wait_for(stream.readline(), timeout=within)
    assert line, "the stream ended"
    return line


async def test_tail_prints_each_matching_event_as_one_json_line(
    channel: AbstractRobustChannel, names: Names
) -> None:
    env = {
        **os.environ,
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": names.exchange,
        "LOG_LEVEL": "INFO",
        **AUTH_ENV,
    }
    tail = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "boundbox", "consume", "tail", "order.*",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert tail.stdout is not None and tail.stderr is not None
    try:
        while b"tailing" not in await read_line(tail.stderr):
            pass  # its queue is bound once it says so
        placed = event_message("order.placed", {"customer": "ada"}, correlation_id="req-7")
        await publish(
            channel, names.exchange, "customer.created", event_message("customer.created", {})
        )
        await publish(channel, names.exchange, "order.placed", placed)
        await publish(channel, names.exchange, "order.odd", raw_message(b"\xffnot json"))

        first = json.loads(await read_line(tail.stdout))
        assert first["routing_key"] == "order.placed"
        assert first["message_id"] == placed.message_id
        assert first["type"] == "order.placed"
        assert first["correlation_id"] == "req-7"
        assert first["headers"]["aggregate_type"] == "order"
        assert first["body"]["payload"] == {"customer": "ada"}
        second = json.loads(await read_line(tail.stdout))
        assert second["routing_key"] == "order.odd"
        assert second["body"] == "\ufffdnot json"

        tail.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(tail.wait(), timeout=15) == 0
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()


async def test_tail_lines_are_single_line_json(
    channel: AbstractRobustChannel, names: Names
) -> None:
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(names.exchange, routing_key="#")
    await publish(channel, names.exchange, "x.y", event_message("x.y", {"text": "two\nlines"}))
    line = as_line(await take(queue))
    assert "\n" not in line
    assert json.loads(line)["body"]["payload"] == {"text": "two\nlines"}


def test_the_sales_consumer_without_a_key_to_verify_tokens_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", "consume", "sales"],
        cwd=tmp_path,  # no stray .env
        env={**env, "AUTH_MODE": "jwt"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("boundbox: configuration error: AUTH_MODE=jwt needs a key")
