"""Writes a transaction sends together, just before it commits.

`insert_later()` and `update_later()` queue a write in the running transaction's scope
(`@transactional()`, `run_in_transaction`, `async with transaction()`), which sends the queue
just before it commits: in one round trip on MongoDB 8, whose client-level `bulkWrite` spans
collections, and on an earlier server in one per run of writes to the same collection. A
command that used to spend a round trip per collection written (its documents, its events, its
stored reply) spends one. Outside such a scope a write is sent at once.

A queued write is not seen by the transaction's own reads before it is sent: queue only what the
transaction does not read again (new documents, final states), as the outbox's events are.
Errors come as the collection's own commands raise them: a taken unique key is pymongo's
DuplicateKeyError, a conflict its transient OperationFailure, an update that must match
nothing it matched the caller's own `or_else()`.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.mongo_client import AsyncMongoClient
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    DuplicateKeyError,
    InvalidOperation,
    PyMongoError,
    WriteError,
)

DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})

Collection = AsyncCollection[Any]


@dataclass(frozen=True, slots=True)
class _Write:
    collection: Collection
    document: Mapping[str, Any] | None  # an insert's
    filter: Mapping[str, Any] | None = None  # an update's, with `update`
    update: Mapping[str, Any] | None = None
    or_else: Callable[[], Exception] | None = None  # raised when the update matches nothing

    def model(self, *, spanning: bool) -> InsertOne[Any] | UpdateOne:
        """The write as pymongo's model: for the client's bulkWrite (`spanning`) or the
        collection's own."""
        namespace = self.collection.full_name if spanning else None
        if self.document is not None:
            return InsertOne(self.document, namespace=namespace)
        assert self.filter is not None
        assert self.update is not None
        return UpdateOne(self.filter, self.update, namespace=namespace)


_older_servers: weakref.WeakSet[AsyncMongoClient[Any]] = weakref.WeakSet()
"""Clients whose server refused the client-level bulkWrite (before MongoDB 8.0)."""


class Writes:
    """The writes queued in one transaction's scope, in their order."""

    def __init__(self) -> None:
        self._queue: list[_Write] = []

    @property
    def pending(self) -> int:
        """How many writes wait to be sent."""
        return len(self._queue)

    async def send(self) -> None:
        """Sends every queued write (in order, stopping at the first that fails)."""
        queue, self._queue = self._queue, []
        if not queue:
            return
        client = queue[0].collection.database.client
        if len(queue) > 1 and client not in _older_servers:
            try:
                await _spanning(client, queue)
                return
            except InvalidOperation as e:
                if "8.0" not in str(e):
                    raise
                _older_servers.add(client)
        for _, run in itertools.groupby(queue, key=lambda write: write.collection.full_name):
            await _per_collection(list(run))


async def _spanning(client: AsyncMongoClient[Any], queue: list[_Write]) -> None:
    checked = any(write.or_else is not None for write in queue)
    try:
        result = await client.bulk_write(
            [write.model(spanning=True) for write in queue], verbose_results=checked
        )
    except ClientBulkWriteException as e:
        raise _failure(e.error, e.write_errors) from None
    if checked:
        for index, write in enumerate(queue):
            if write.or_else is not None and not result.update_results[index].matched_count:
                raise write.or_else()


async def _per_collection(run: list[_Write]) -> None:
    collection = run[0].collection
    try:
        if all(write.document is not None for write in run):
            await collection.insert_many([write.document for write in run])
            return
        result = await collection.bulk_write([write.model(spanning=False) for write in run])
    except BulkWriteError as e:
        raise _failure(None, e.details.get("writeErrors")) from None
    checks = [write.or_else for write in run if write.or_else is not None]
    if checks and result.matched_count < len(checks):
        raise checks[0]()


def _failure(error: Any, write_errors: Any) -> PyMongoError:
    """A failed bulk write as the error its own command would have raised."""
    if isinstance(error, PyMongoError):
        return error  # a failure of the whole command: its labels (transient) are kept
    first = dict(write_errors[0]) if write_errors else {}
    code, message = first.get("code"), str(first.get("errmsg", "write failed"))
    if code in DUPLICATE_KEY_CODES:
        return DuplicateKeyError(message, code, first)
    return WriteError(message, code, first)


_scope: ContextVar[Writes | None] = ContextVar("outbox_writes", default=None)


@contextmanager
def writes_scope() -> Iterator[Writes]:
    """The queue of one transaction attempt: writes queued inside go to it."""
    writes = Writes()
    token = _scope.set(writes)
    try:
        yield writes
    finally:
        _scope.reset(token)


async def insert_later(collection: Collection, *documents: Mapping[str, Any]) -> None:
    """Inserts `documents` with the transaction's other queued writes (or now, outside one)."""
    await _queue(*(_Write(collection, document) for document in documents))


async def update_later(
    collection: Collection,
    filter: Mapping[str, Any],
    update: Mapping[str, Any],
    *,
    or_else: Callable[[], Exception],
) -> None:
    """Updates the one document `filter` matches, with the transaction's other queued writes
    (or now, outside one); if it matches none, `or_else()` is raised instead of committing."""
    await _queue(_Write(collection, None, filter, update, or_else))


async def _queue(*queued: _Write) -> None:
    writes = _scope.get()
    if writes is None:
        now = Writes()
        now._queue.extend(queued)
        await now.send()
    else:
        writes._queue.extend(queued)
