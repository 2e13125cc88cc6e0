"""An open transaction: its snapshot, its staged writes and the collections it created."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from devdb.store.collection import Collection
from devdb.store.versions import Document, Key

TxnKey = tuple[bytes, int]
"""A transaction's identity: its session id (lsid) and its transaction number."""

Namespace = tuple[str, str]


@dataclass(slots=True)
class Staged:
    """A write waiting for its commit: the new state (None: deleted) and what it was."""

    doc: Document | None
    raw: bytes | None
    operation: str
    before: Document | None


@dataclass(eq=False)
class Transaction:
    """Writes are staged here and become visible to others only at commit."""

    key: TxnKey
    snapshot: int
    writes: dict[Namespace, dict[Key, Staged]] = field(default_factory=dict)
    created: dict[Namespace, Collection] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    state: str = "open"  # open, committed, aborted
    connections: set[int] = field(default_factory=set)
    in_flight: int = 0
    expiry: Any = None
    internal: bool = False
    """One command's own transaction, outside any the client started."""
    unique_entries: dict[tuple[Namespace, str], dict[Hashable, set[Key]]] = field(
        default_factory=dict
    )
    """Per namespace and unique index, the entries of the staged documents (built on first
    use, then kept as writes are staged), so a uniqueness check costs one lookup."""

    def staged(self, namespace: Namespace) -> dict[Key, Staged]:
        return self.writes.setdefault(namespace, {})
