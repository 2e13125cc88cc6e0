"""What a command runs with: the store, its database, its body, its transaction, its cursors."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from devdb.errors import CommandError, invalid_namespace
from devdb.store.collection import Collection
from devdb.store.engine import Store
from devdb.store.transactions import Transaction

Reply = dict[str, Any]

ENVELOPE = frozenset(
    {
        "$db",
        "lsid",
        "txnNumber",
        "autocommit",
        "startTransaction",
        "$clusterTime",
        "$readPreference",
        "writeConcern",
        "readConcern",
        "comment",
        "apiVersion",
        "apiStrict",
        "apiDeprecationErrors",
        "maxTimeMS",
    }
)
"""Fields drivers add to any command (database, session, transaction, concerns): no options."""


@dataclass(eq=False)
class Cursor:
    """An open cursor: what is left to send, or a source to pull more from (tailable)."""

    id: int
    namespace: str
    pending: list[Any]
    batch_size: int
    session: bytes | None
    more: Callable[[Context, float], Awaitable[list[Any]]] | None = None
    post_batch: Callable[[], dict[str, Any]] | None = None


@dataclass(eq=False)
class Cursors:
    open: dict[int, Cursor] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def new_id(self) -> int:
        return next(self._ids)


@dataclass(eq=False)
class Context:
    store: Store
    cursors: Cursors
    db: str
    body: dict[str, Any]
    documents: list[dict[str, Any]] | None
    raw_documents: list[bytes] | None
    txn: Transaction | None
    session: bytes | None
    server: Any
    sequences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """The document sequences sent beside the body, decoded, by name (`documents`, `ops`)."""

    @property
    def name(self) -> str:
        return next(iter(self.body))

    def collection_name(self) -> str:
        value = self.body[self.name]
        if not isinstance(value, str) or not value:
            raise invalid_namespace(f"collection name has invalid type {type(value).__name__}")
        if "$" in value or "\0" in value or value.startswith("."):
            raise invalid_namespace(f"Invalid collection name: {value}")
        return value

    def collection(self) -> Collection | None:
        return self.store.collection(self.db, self.collection_name(), self.txn)

    def ensure(self) -> Collection:
        collection = self.store.ensure(self.db, self.collection_name(), self.txn)
        if collection.is_view:
            raise CommandError(
                166,
                "CommandNotSupportedOnView",
                f"Namespace {collection.namespace} is a view, not a collection",
            )
        return collection

    def namespace(self) -> str:
        return f"{self.db}.{self.collection_name()}"


Handler = Callable[[Context], Awaitable[Reply]]
