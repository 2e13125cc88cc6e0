"""Commands run once per caller and Idempotency-Key: a retry with the same body gets the reply.

The reply is stored in the command's own transaction, so "effect happened" and "reply
stored" commit together: a retry can never see one without the other. Only successes are
stored: a failed command commits nothing, so retrying it with the same key runs it again.
A stored reply is looked up only when a command fails or its key turns out to be taken (a
retry's command runs, and its transaction aborts): first requests, nearly all of them, save
that read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError, PyMongoError

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
            reply = await run_in_transaction(lambda: self._run_and_store(key, fingerprint, command))
        except Exception as error:
            # The command runs first and its reply is stored last: a key already used, with
            # its reply committed, surfaces here (a duplicate key, or the command refusing
            # what it did before, e.g. a cancel already made). Nothing of this attempt was
            # committed, so the stored reply is the answer. Looking it up only now saves a
            # read in every first request.
            if isinstance(error, PyMongoError) and not isinstance(error, DuplicateKeyError):
                raise
            stored = await store.find_reply(key)
            if stored is None:
                raise
            if stored.request_hash != fingerprint:
                raise IdempotencyKeyReusedError(
                    "this Idempotency-Key was used for a different request"
                ) from None
            return Reply(stored.status_code, stored.body, stored.headers).response(replayed=True)
        return reply.response()

    async def _run_and_store(
        self, key: str, fingerprint: str, command: Callable[[], Awaitable[Reply]]
    ) -> Reply:
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
        return reply

    def _fingerprint(self, payload: BaseModel | None) -> str:
        """The request's identity: method, path and the validated body, canonically ordered."""
        body = payload.model_dump(mode="json") if payload is not None else None
        canonical = json.dumps(
            [self.method, self.path, body], sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()
