"""ASGI middleware: the request context of recorded events, and the request body limit."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbox import event_context
from services.api import tracing
from services.api.errors import problem

TOO_LARGE = "the request body is larger than {limit} bytes"


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) that every event it records carries.

    The id becomes the events' correlation id, a valid `traceparent` their trace context.
    Pure ASGI, so the context variable reaches the endpoint in the same task.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = tracing.request_id(headers.get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with event_context(
            correlation_id=request_id, traceparent=tracing.traceparent(headers.get("traceparent"))
        ):
            await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Answers 413 to bodies over `max_bytes`: from Content-Length before reading anything,
    or while a body without one (chunked) streams in, before it is parsed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            response = problem(413, TOO_LARGE.format(limit=self.max_bytes), request=Request(scope))
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the endpoint's body parsing: the error handlers answer it.
                raise HTTPException(413, TOO_LARGE.format(limit=self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)
