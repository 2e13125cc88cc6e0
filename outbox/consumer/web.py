"""The consumer's small HTTP port: /healthz, /readyz and /metrics, plus a service's own routes.

uvicorn runs inside the consumer's event loop, without its signal handlers: the process
installs its own, so one SIGTERM stops consuming and serving together.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from boundbox import apidocs
from outbox.consumer import problems
from outbox.consumer.errors import ConsumerError
from outbox.consumer.metrics import ConsumerMetrics


@dataclass(frozen=True, slots=True)
class Health:
    """What /healthz reports and /readyz judges."""

    database: bool
    broker: bool
    consuming: bool

    @property
    def ready(self) -> bool:
        return self.database and self.broker and self.consuming

    def as_json(self) -> dict[str, bool]:
        return {"database": self.database, "broker": self.broker, "consuming": self.consuming}


def create_app(
    *,
    title: str,
    metrics: ConsumerMetrics,
    health: Callable[[], Health],
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The consumer's app: operations routes, then the service's own read routes."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None)
    apidocs.install(app)  # /docs and /redoc from installed files, never a CDN
    problems.install(app)
    app.state.health = health  # the service's routes answer 503 until the database is ready

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str | bool]:
        """The process is alive; says whether MongoDB and RabbitMQ are connected."""
        return {"status": "ok"} | health().as_json()

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """200 while MongoDB is initialised and the queue is consumed, else 503."""
        now = health()
        status = {"status": "ready" if now.ready else "not ready"}
        return JSONResponse(status | now.as_json(), status_code=200 if now.ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics: messages by outcome, handler latency, broker connection."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the process handles SIGTERM and SIGINT itself


class HttpServer:
    """Serves `app` on host:port in the running loop; the port is bound at once by `start`."""

    def __init__(self, app: FastAPI, *, host: str, port: int, log_level: str = "warning") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False)
        self._server = _Server(config)
        self._socket = _bind(host, port)
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            self._serving = asyncio.create_task(self._server.serve(sockets=[self._socket]))
            # uvicorn offers no event for this; startup takes a few milliseconds.
            while not self._server.started and not self._serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if self._serving.done():
                self._serving.result()
                raise ConsumerError("the HTTP server stopped while starting")
        except BaseException:
            self._socket.close()  # not served: nobody else will close it
            raise

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._serving is not None:
            await self._serving
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConsumerError(f"cannot serve HTTP on {host}:{port}: {e.strerror}") from None
    sock.set_inheritable(True)
    return sock
