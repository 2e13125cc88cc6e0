"""Commands run once per caller and Idempotency-Key: a retry with the same body gets the reply.

The reply is stored in the command's own transaction, so "effect happened" and "reply
stored" commit together: a retry can never see one without the other. Only successes are
stored: a failed command commits nothing, so retrying it with the same key runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from outbox import run_in_transaction
from services.api.errors import IdempotencyKeyReusedError
from services.api.etags import etag
from services.store import idempotency as store

KEY_MAX_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer, as sent and as stored for replays."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, model: BaseModel, *, version: int, status_code: int = 200, location: str | None = None
    ) -> Reply:
        """The reply carrying an aggregate: its version as ETag, its URL for a creation."""
        headers = {"ETag": etag(version)}
        if location is not None:
            headers["Location"] = location
        return cls(status_code, model.model_dump(mode="json"), headers)

    def response(self, *, replayed: bool = False) -> JSONResponse:
        headers = {**self.headers, REPLAYED_HEADER: "true"} if replayed else self.headers
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


class Idempotency:
    """Runs one command of a request in a (retried) transaction, once per Idempotency-Key."""

    def __init__(
        self, *, key: str | None, method: str, path: str, caller: Callable[[], str]
    ) -> None:
        self.key = key
        self.method = method
        self.path = path
        self.caller = caller  # the authenticated caller's name, once the route runs

    async def execute(
        self, payload: BaseModel | None, command: Callable[[], Awaitable[Reply]]
    ) -> JSONResponse:
        if self.key is None:
            reply = await run_in_transaction(command)
            return reply.response()
        fingerprint = self._fingerprint(payload)
        # Keys are each caller's own: two callers choosing the same key never meet.
        key = json.dumps([self.caller(), self.key], separators=(",", ":"))
        try:
            reply, replayed = await self._once(key, fingerprint, command)
        except DuplicateKeyError:
            # A concurrent request with the same key committed first: answer with its reply.
            reply, replayed = await self._once(key, fingerprint, command)
        return reply.response(replayed=replayed)

    async def _once(
        self, key: str, fingerprint: str, command: Callable[[], Awaitable[Reply]]
    ) -> tuple[Reply, bool]:
        async def unit_of_work() -> tuple[Reply, bool]:
            stored = await store.find_reply(key)
            if stored is not None:
                if stored.request_hash != fingerprint:
                    raise IdempotencyKeyReusedError(
                        "this Idempotency-Key was used for a different request"
                    )
                return Reply(stored.status_code, stored.body, stored.headers), True
            reply = await command()
            await store.save_reply(
                key,
                store.StoredReply(
                    request_hash=fingerprint,
                    status_code=reply.status_code,
                    body=reply.body,
                    headers=reply.headers,
                ),
            )
            return reply, False

        return await run_in_transaction(unit_of_work)

    def _fingerprint(self, payload: BaseModel | None) -> str:
        """The request's identity: method, path and the validated body, canonically ordered."""
        body = payload.model_dump(mode="json") if payload is not None else None
        canonical = json.dumps(
            [self.method, self.path, body], sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()
