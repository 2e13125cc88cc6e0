"""The replies stored under Idempotency-Keys, written in the transaction of their command."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import outbox
from outbox import utc_now
from services.store.documents import IdempotencyRecord, stored


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReply:
    request_hash: str
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


async def find_reply(key: str) -> StoredReply | None:
    record = await IdempotencyRecord.get(key)
    if record is None:
        return None
    return StoredReply(
        request_hash=record.request_hash,
        status_code=record.status_code,
        body=record.body,
        headers=record.headers,
    )


async def save_reply(key: str, reply: StoredReply) -> None:
    """Inserts the reply with the transaction's other queued writes; pymongo's
    DuplicateKeyError then if the key is already taken."""
    record = IdempotencyRecord(
        id=key,
        request_hash=reply.request_hash,
        status_code=reply.status_code,
        body=reply.body,
        headers=reply.headers,
        created_at=utc_now(),
    )
    await outbox.insert_later(IdempotencyRecord.get_pymongo_collection(), stored(record))
