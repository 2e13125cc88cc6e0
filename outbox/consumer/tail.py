"""`boundbox consume tail [pattern]`: prints the events as they pass, one JSON line each.

It reads from an exclusive, auto-deleted queue of its own bound with the pattern, so it never
takes a message from a real consumer, and its queue disappears with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from typing import Any, TextIO

from aio_pika import ExchangeType
from aio_pika.abc import AbstractIncomingMessage

from outbox.consumer.runner import connect
from outbox.consumer.waiting import stop_on_signals, until_stopped

log = logging.getLogger("boundbox.consumer.tail")


def as_line(message: AbstractIncomingMessage) -> str:
    """One message as one JSON object on one line; the body inline when it is JSON."""
    body: Any
    try:
        body = json.loads(message.body)
    except ValueError:  # not UTF-8, or not JSON: show it as text
        body = message.body.decode("utf-8", errors="replace")
    line = {
        "routing_key": message.routing_key,
        "message_id": message.message_id,
        "type": message.type,
        "correlation_id": message.correlation_id,
        "timestamp": message.timestamp,
        "headers": dict(message.headers or {}),
        "body": body,
    }
    return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))


async def tail(
    *,
    amqp_url: str,
    exchange: str,
    pattern: str,
    out: TextIO,
    stopping: asyncio.Event,
    connection_name: str = "boundbox-tail",
) -> None:
    """Writes every message matching `pattern` on `exchange` to `out` until `stopping`."""
    connection = connect(amqp_url, name=connection_name)
    try:
        if not await until_stopped(connection.connect(), stopping):
            return
        channel = await connection.channel()
        events = await channel.declare_exchange(exchange, ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(events, routing_key=pattern)

        async def show(message: AbstractIncomingMessage) -> None:
            try:
                out.write(as_line(message) + "\n")
                out.flush()
            except BrokenPipeError:  # the reader went away (`| head`): done
                stopping.set()

        await queue.consume(show, no_ack=True)
        log.info("tailing %r on %s", pattern, exchange)
        await stopping.wait()
    finally:
        await connection.close()


def run(*, amqp_url: str, exchange: str, pattern: str) -> int:
    """Tails until SIGTERM or SIGINT (Ctrl-C); the exit code."""

    async def main() -> None:
        await tail(
            amqp_url=amqp_url,
            exchange=exchange,
            pattern=pattern,
            out=sys.stdout,
            stopping=stop_on_signals(),
            connection_name=f"boundbox-consume-tail@{socket.gethostname()}:{os.getpid()}",
        )

    asyncio.run(main())
    return 0
