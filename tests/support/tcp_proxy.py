"""A TCP proxy for outage tests: cut a component off a shared server without touching the server.

Start it, point the component at `proxy.port`; `cut()` resets the open connections and every
new one (counted in `refused`) until `restore()`; `close()` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.support.processes import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port or free_port()
        self.refused = 0
        """Connections attempted while cut: how often the component tried to come back."""
        self.accepted = 0
        """Connections passed on to the server: how often the component connected or tried."""
        self._cut = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    @classmethod
    async def in_front_of(cls, url: str, *, default_port: int) -> TcpProxy:
        """A started proxy to the one server `url` names; `routed(url)` then goes through it."""
        server = urlsplit(url)
        return await cls(server.hostname or "127.0.0.1", server.port or default_port).start()

    def routed(self, url: str) -> str:
        """`url` with its server replaced by this proxy (credentials, path and options kept)."""
        parts = urlsplit(url)
        credentials, _, _ = parts.netloc.rpartition("@")
        server = f"127.0.0.1:{self.port}"
        return urlunsplit(
            parts._replace(netloc=f"{credentials}@{server}" if credentials else server)
        )

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def cut(self) -> None:
        """Resets every open connection, and every new one until `restore()`."""
        self._cut = True
        self.refused = 0
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        """Stops accepting, resets every connection and waits for every handler to end."""
        await self.cut()
        if self._server is not None:
            self._server.close()
            handlers = list(self._handlers)
            for handler in handlers:
                handler.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pipes one connection to the server; whatever ends it, both sides are closed (a
        transport left to the garbage collector warns in whichever test runs then)."""
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self._cut:
                self.refused += 1
                return
            self.accepted += 1
            try:
                upstream_reader, upstream = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError:
                return
            if self._cut:  # cut while this connection was being made
                return
            self._writers.update((writer, upstream))
            pipes = [
                asyncio.create_task(_pipe(reader, upstream)),
                asyncio.create_task(_pipe(upstream_reader, writer)),
            ]
            self._tasks.update(pipes)
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in pipes:
                    task.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
                self._tasks.difference_update(pipes)
        finally:
            self._handlers.discard(handler)
            for side in (writer, upstream):
                if side is not None:
                    self._writers.discard(side)
                    side.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
