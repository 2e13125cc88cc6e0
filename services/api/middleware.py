"""ASGI middleware: the request context of recorded events, and the request body limit."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
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
    """Answers 413 to bodies over `max_bytes`, whatever the route, before the app runs.

    A Content-Length over the limit is refused before reading anything. Any other body
    (chunked, or a wrong Content-Length) is read into memory up to the limit and handed on
    whole: a command that takes no body cannot run with an oversized one either.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_large(scope):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        pending: list[Message] = [message]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    def _declared_too_large(self, scope: Scope) -> bool:
        length = Headers(scope=scope).get("content-length", "")
        # ASCII digits only ("²".isdigit() too), and no int() of thousands of digits.
        if not (length.isascii() and length.isdigit()):
            return False
        digits = length.lstrip("0") or "0"
        return len(digits) > len(str(self.max_bytes)) or int(digits) > self.max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, TOO_LARGE.format(limit=self.max_bytes), request=Request(scope))
        await response(scope, receive, send)
