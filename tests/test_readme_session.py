"""The README's copy-paste session, run as written against `boundbox dev`.

Every ```sh block between the README's session markers runs, in order, in one bash (so shell
variables carry over), after the `export` lines the banner printed; the ```json block after it is
the answer: the same JSON values, where "…" stands for any value. Blocks that only read are
re-run until they match or a deadline passes (the relay and the projection are eventually
consistent); blocks that change something run once. The only edit is the ports: the stack runs on
free ones, so localhost:8000 and localhost:9102 become those.

`boundbox dev` runs without MONGODB_URL, on a free DEVDB_PORT: the services must follow it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from boundbox.settings import Settings
from tests.consumer.conftest import AMQP_URL, Names, broker, names, test_id
from tests.support.processes import free_port, stop_supervisor

__all__ = ["broker", "names", "test_id"]  # the broker fixtures, shared

README = Path(__file__).resolve().parents[1] / "README.md"
SESSION = re.compile(r"<!-- session\b.*?-->(.*?)<!-- /session -->", re.DOTALL)
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
ANY = "…"
READ_DEADLINE = 30.0
STEP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Step:
    commands: str
    answer: list[Any]

    @property
    def reads_only(self) -> bool:
        return not re.search(r"(^|\s)(-d|-X POST)\s", self.commands)


def session_steps() -> list[Step]:
    """The README session's (commands, answer) pairs, in order."""
    found = SESSION.search(README.read_text(encoding="utf-8"))
    assert found, "README.md has no <!-- session --> … <!-- /session --> section"
    blocks = BLOCK.findall(found.group(1))
    assert [kind for kind, _ in blocks] == ["sh", "json"] * (len(blocks) // 2), blocks
    return [
        Step(commands, json_values(answer))
        for (_, commands), (_, answer) in zip(blocks[::2], blocks[1::2], strict=True)
    ]


def json_values(text: str) -> list[Any]:
    """Every JSON value in `text`, one after the other (jq -c prints one a line)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := skip_space(text, at)) < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def matches(expected: Any, actual: Any) -> bool:
    if expected == ANY:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(matches(expected[key], actual[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and expected == actual


def test_the_session_is_read_as_commands_and_answers() -> None:
    steps = session_steps()
    assert len(steps) >= 6
    text = "\n".join(step.commands for step in steps)
    for path in ("/categories", "/products", "/orders", "/events", "/sales/", "/cancel"):
        assert path in text, path
    assert all(step.answer for step in steps)
    # Every command that sends a body says it is JSON, but the one showing what happens if not.
    sending = [step for step in steps if re.search(r"\s-d\s", step.commands)]
    untyped = [s for s in sending if "-H 'Content-Type: application/json'" not in s.commands]
    assert len(sending) >= 3
    assert [s.answer[0]["status"] for s in untyped] == [415]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "localhost:8000/" in text and defaults.api_port == 8000
    assert "localhost:9102/" in text and defaults.consumer_port == 9102


def test_an_answer_matches_with_ellipses_for_ids() -> None:
    assert matches({"id": ANY, "n": [1, {"a": "x"}]}, {"id": "6b0f", "n": [1, {"a": "x"}]})
    assert not matches({"id": ANY}, {"id": "6b0f", "extra": 1})
    assert not matches({"n": 1}, {"n": "1"})
    assert not matches([1], [1, 2])


class Bash:
    """One bash reading commands from a pipe: variables carry from one step to the next."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def run(self, commands: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        marker = f"@@done-{uuid.uuid4().hex}"
        self.process.stdin.write(f"{commands}\nprintf '\\n%s\\n' {marker}\n".encode())
        await self.process.stdin.drain()
        lines: list[str] = []
        async with asyncio.timeout(STEP_TIMEOUT):
            while (line := (await self.process.stdout.readline()).decode()).strip() != marker:
                assert line, "bash ended:\n" + "".join(lines)
                lines.append(line)
        return "".join(lines)


@pytest.fixture
async def bash() -> AsyncIterator[Bash]:
    process = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield Bash(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        async with asyncio.timeout(10):
            await process.wait()


@dataclass(frozen=True)
class Stack:
    banner: str
    devdb_port: int
    api_port: int
    relay_port: int
    consumer_port: int


@pytest.fixture
async def stack(tmp_path: Path, names: Names) -> AsyncIterator[Stack]:
    """`boundbox dev` on free ports, in an empty directory, without MONGODB_URL."""
    archive = f"{names.prefix}.archive"
    names.queues.append(archive)  # deleted with the test's other broker objects
    names.queue("sales")  # the dev consumer's queue, dead-letter queue and exchange, likewise
    ports = Stack("", free_port(), free_port(), free_port(), free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MONGODB_"))},
        "DEVDB_PORT": str(ports.devdb_port),
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": names.exchange,
        "CONSUMER_QUEUE_PREFIX": names.prefix,
        "ARCHIVE_QUEUE": archive,
        "API_PORT": str(ports.api_port),
        "RELAY_PORT": str(ports.relay_port),
        "CONSUMER_PORT": str(ports.consumer_port),
        "LOG_LEVEL": "WARNING",
        # A proxy that answers nothing: the readiness checks of local services must not use it.
        "http_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "no_proxy": "",
        "NO_PROXY": "",
    }
    dev = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "boundbox", "dev",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert dev.stdout is not None
    output: list[str] = []
    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(90):
            while "Press Ctrl-C" not in (line := (await dev.stdout.readline()).decode()):
                assert line, "boundbox dev ended:\n" + "".join(output)
                output.append(line)
        drain = asyncio.create_task(dev.stdout.read())  # the children's output, until the end
        yield Stack(
            "".join(output), ports.devdb_port, ports.api_port, ports.relay_port, ports.consumer_port
        )
        dev.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            assert await dev.wait() == 0
            rest = (await drain).decode()
        assert "boundbox dev: stopped" in rest
        assert ("".join(output) + rest).count("devdb ready") == 1
    finally:
        await stop_supervisor(dev)
        if drain is not None and not drain.done():
            drain.cancel()


def on_ports(commands: str, stack: Stack) -> str:
    """`commands` on the stack's free ports instead of the defaults."""
    return commands.replace("localhost:8000/", f"localhost:{stack.api_port}/").replace(
        "localhost:9102/", f"localhost:{stack.consumer_port}/"
    )


async def test_the_readme_session_answers_as_written(stack: Stack, bash: Bash) -> None:
    # The banner is printed once everything is ready: no waiting here.
    async with httpx.AsyncClient() as http:
        for url in (
            f"http://127.0.0.1:{stack.api_port}/readyz",
            f"http://127.0.0.1:{stack.relay_port}/healthz",
            f"http://127.0.0.1:{stack.consumer_port}/readyz",
        ):
            assert (await http.get(url)).status_code == 200, url
    # The services followed DEVDB_PORT, and the banner says so.
    assert f"MongoDB   mongodb://127.0.0.1:{stack.devdb_port} (dev database)" in stack.banner

    exports = re.findall(r"^  (export \w+_TOKEN=\S+)$", stack.banner, re.MULTILINE)
    assert len(exports) == 2, stack.banner
    await bash.run("\n".join(exports))
    for step in session_steps():
        commands = on_ports(step.commands, stack)
        deadline = time.monotonic() + READ_DEADLINE
        while True:
            output = await bash.run(commands)
            try:
                answer = json_values(output)
            except json.JSONDecodeError:
                answer = [output]
            if matches(step.answer, answer):
                break
            assert step.reads_only and time.monotonic() < deadline, (
                f"{step.commands}\nanswered:\n{output}\nREADME says:\n{step.answer}"
            )
            await asyncio.sleep(0.2)

    # The order is in this stack's own dev database, on DEVDB_PORT: not in another one.
    order_id = (await bash.run('printf "%s" "$ORDER_ID"')).strip()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{stack.devdb_port}/?directConnection=true"
    )
    try:
        order = await client["boundbox"]["orders"].find_one({"_id": ObjectId(order_id)})
    finally:
        await client.close()
    assert order is not None and order["status"] == "cancelled"
