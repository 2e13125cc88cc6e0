"""The relay's small HTTP port: `/healthz` for orchestrators and `/metrics` for Prometheus."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.health import Dependency
from relay.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Status:
    relay_id: str
    broker: Dependency
    database: Dependency
    leases: Callable[[], int]


def create_app(status: Status, metrics: Metrics) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        """200 while the relay can publish (broker and database up), else 503 with the reason."""
        healthy = status.broker.is_up and status.database.is_up
        body = {
            "status": "ok" if healthy else "degraded",
            "relay_id": status.relay_id,
            "broker": "up" if status.broker.is_up else "down",
            "database": "up" if status.database.is_up else "down",
            "leases": status.leases(),
            "errors": {
                dependency.name: dependency.last_error
                for dependency in (status.broker, status.database)
                if dependency.last_error
            },
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def exposition(_: Request) -> Response:
        """Prometheus text format."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", exposition)])


class _Server(uvicorn.Server):
    """Uvicorn without its signal handlers: the relay's composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """Bound here rather than by uvicorn, which exits the process when binding fails."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError:
        listener.close()
        raise
    return listener


class HttpServer:
    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serves in the background; raises OSError when the address cannot be bound."""
        listener = _bind(self._server.config.host, self._server.config.port)
        try:
            self._task = asyncio.create_task(self._server.serve([listener]), name="relay-http")
            while not self._server.started:
                if self._task.done():
                    self._task.result()  # raises what stopped it
                    raise OSError("the HTTP server stopped while starting")
                await asyncio.sleep(0.01)
        except BaseException:
            listener.close()  # not served: nobody else will close it
            raise

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
