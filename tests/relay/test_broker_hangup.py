"""A broker that hangs up during the AMQP handshake is unavailable, never a crash of the relay.

The server below accepts TCP connections and closes them at once, like a broker restarting or
a proxy cut mid-connect. On uvloop, aiormq then and again finds the connection at EOF before
it reads the first frame and raises StopAsyncIteration, which must count as an outage like
any other.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from boundbox import runtime
from relay.broker import Broker
from relay.errors import BrokerUnavailableError
from relay.health import Dependency

ATTEMPTS = 1_000  # the EOF race is won in roughly one connect in a hundred


@pytest.fixture
def hanging_up() -> Iterator[int]:
    """The port of a server that closes every connection as soon as it accepts it."""
    server = socket.create_server(("127.0.0.1", 0), backlog=128)
    closing = threading.Event()

    def serve() -> None:
        while not closing.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.shutdown(socket.SHUT_WR)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    closing.set()
    server.close()
    thread.join(timeout=5)


def test_every_connect_to_a_broker_that_hangs_up_is_an_outage(hanging_up: int) -> None:
    state = Dependency("broker", logging.getLogger("tests.relay.hangup"))
    broker = Broker(
        f"amqp://guest:guest@127.0.0.1:{hanging_up}/",
        "boundbox.test",
        connection_name="hang-up test",
        connect_timeout=5,
        state=state,
    )

    async def connect_repeatedly() -> list[str]:
        outcomes = []
        for _ in range(ATTEMPTS):
            try:
                await broker.connect()
                outcomes.append("connected")
            except BrokerUnavailableError:
                outcomes.append("unavailable")
        return outcomes

    outcomes = runtime.run(connect_repeatedly())  # on uvloop, like the relay process
    assert outcomes == ["unavailable"] * ATTEMPTS
    assert not broker.ready
