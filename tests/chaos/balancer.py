"""Requests spread over several API replicas in turn, as a reverse proxy in front of them would."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import httpx


class RoundRobin(httpx.AsyncBaseTransport):
    """Sends each request to the next of `urls` (scheme, host and port; the path is kept)."""

    def __init__(self, urls: Sequence[str]) -> None:
        self._targets = itertools.cycle([httpx.URL(url) for url in urls])
        self._transport = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = next(self._targets)
        request.url = request.url.copy_with(
            scheme=target.scheme, host=target.host, port=target.port
        )
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()
