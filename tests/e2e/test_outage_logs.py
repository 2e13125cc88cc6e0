"""A broker outage is one line when it starts and one when it ends, per process: no library
chatter on every retry, the broker named without its password, a refused vhost said plainly.

`boundbox relay` and `boundbox consume sales` run as processes, as a user runs them, with their
broker behind a TCP proxy that the test cuts and restores (the shared broker is never stopped).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from tests.consumer.conftest import AMQP_URL, Names
from tests.support.auth import AUTH_ENV
from tests.support.processes import eventually, free_port
from tests.support.tcp_proxy import TcpProxy

PASSWORD = "guest"  # AMQP_URL's; never printed


class Process:
    """A boundbox process whose stderr (where it logs) goes to a file the test reads."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "boundbox", *args], env=env, stdout=out, stderr=out
            )

    def lines(self, since: int = 0) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()[since:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    proxy = await TcpProxy.in_front_of(AMQP_URL, default_port=5672)
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


def environment(mongodb_url: str, names: Names, amqp_url: str) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": f"bblogs_{run}",
        "SALES_DB": f"bblogs_sales_{run}",
        "AMQP_URL": amqp_url,
        "EXCHANGE_NAME": names.exchange,
        "CONSUMER_QUEUE_PREFIX": names.prefix,
        "RELAY_ID": names.test_id,
        "CONSUMER_ID": names.test_id,
        "RELAY_PORT": str(free_port()),
        "CONSUMER_PORT": str(free_port()),
        "ARCHIVE_QUEUE": "",
        "LOG_LEVEL": "INFO",
        **AUTH_ENV,
    }


async def answers(url: str, process: Process) -> bool:
    if process.process.poll() is not None:
        raise AssertionError(f"{process.process.args} exited: {process.lines()}")
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(url)).status_code == 200
    except httpx.TransportError:
        return False


def broker_lines(lines: list[str]) -> list[str]:
    """What a person reads about the broker: boundbox's lines on it, and any library line."""
    return [
        line
        for line in lines
        if " aiormq" in line or " aio_pika" in line or "broker" in line or "Traceback" in line
    ]


async def test_a_broker_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    mongodb_url: str,
    names: Names,
    broker: AbstractRobustConnection,
    proxy: TcpProxy,
    processes: list[Process],
    tmp_path: Path,
) -> None:
    names.queue("sales")  # deleted afterwards, with its dead-letter queue and exchange
    env = environment(mongodb_url, names, proxy.routed(AMQP_URL))
    relay = Process(["relay"], env, tmp_path / "relay.log")
    consumer = Process(["consume", "sales"], env, tmp_path / "consumer.log")
    processes += [relay, consumer]
    relay_health = f"http://127.0.0.1:{env['RELAY_PORT']}/healthz"
    consumer_ready = f"http://127.0.0.1:{env['CONSUMER_PORT']}/readyz"
    await eventually(lambda: answers(relay_health, relay), within=60)
    await eventually(lambda: answers(consumer_ready, consumer), within=60)
    before = {process: len(process.lines()) for process in processes}

    await proxy.cut()

    async def retried_for_a_while() -> bool:  # the consumer every 1 s, the relay with backoff
        return proxy.refused >= 10

    await eventually(retried_for_a_while, within=60)
    await proxy.restore()
    await eventually(lambda: answers(relay_health, relay), within=60)
    await eventually(lambda: answers(consumer_ready, consumer), within=60)

    async def both_said_up() -> bool:
        return all(any(" up" in line for line in p.lines(before[p])) for p in processes)

    await eventually(both_said_up, within=30)
    for process in processes:
        said = broker_lines(process.lines(before[process]))
        assert 2 <= len(said) <= 2, "\n".join(process.lines(before[process]))
        down, up = said
        assert "down" in down and f"127.0.0.1:{proxy.port}" in down, said
        assert " up" in up, said
        assert f":{PASSWORD}@" not in "\n".join(process.lines())


async def test_a_refused_virtual_host_is_one_plain_line_while_retrying(
    mongodb_url: str,
    names: Names,
    broker: AbstractRobustConnection,
    proxy: TcpProxy,
    processes: list[Process],
    tmp_path: Path,
) -> None:
    names.queue("sales")
    env = environment(mongodb_url, names, proxy.routed(AMQP_URL).rstrip("/") + "/bbtest-no-vhost")
    relay = Process(["relay"], env, tmp_path / "relay.log")
    consumer = Process(["consume", "sales"], env, tmp_path / "consumer.log")
    processes += [relay, consumer]

    async def retried_for_a_while() -> bool:  # each attempt is a connection through the proxy
        return proxy.accepted >= 10

    await eventually(retried_for_a_while, within=60)
    for process in processes:
        assert process.process.poll() is None, process.lines()  # still retrying
        said = broker_lines(process.lines())
        assert len(said) == 1, "\n".join(process.lines())
        assert "virtual host 'bbtest-no-vhost'" in said[0] and "object at 0x" not in said[0]
        assert f":{PASSWORD}@" not in "\n".join(process.lines())
