"""A collection: the version chains of its documents, its indexes and its options."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from devdb.store.indexes import Index, id_index_spec
from devdb.store.versions import Document, Key, Version


@dataclass(eq=False)
class Collection:
    """Documents by `_id` key, newest committed version first; the dict keeps insertion order."""

    database: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    records: dict[Key, Version] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    history: set[Key] = field(default_factory=set)
    """Keys whose chains hold more than their newest live version (pruned by `prune`)."""
    rowids: dict[Key, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "_id_" not in self.indexes and not self.is_view:
            spec = id_index_spec()
            self.indexes["_id_"] = Index("_id_", [("_id", 1)], spec)

    @property
    def namespace(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def is_view(self) -> bool:
        return "viewOn" in self.options

    def visible(self, snapshot: int) -> Iterator[tuple[Key, Document, bytes]]:
        """Every live document as a reader at `snapshot` sees it."""
        for key, head in self.records.items():
            version = head if head.ts <= snapshot else head.at(snapshot)
            if version is not None and version.doc is not None and version.raw is not None:
                yield key, version.doc, version.raw

    def get(self, key: Key, snapshot: int) -> Version | None:
        head = self.records.get(key)
        if head is None:
            return None
        version = head if head.ts <= snapshot else head.at(snapshot)
        return version if version is not None and version.doc is not None else None

    def install(
        self, key: Key, doc: Document | None, raw: bytes | None, ts: int, keep: bool
    ) -> Version | None:
        """Makes a new committed version the newest; `keep`: older snapshots still read."""
        head = self.records.get(key)
        version = Version(ts, doc, raw, head if keep else None)
        if head is not None and head.doc is not None and not keep:
            for index in self.indexes.values():
                index.discard(key, head.doc, [doc] if doc is not None else [])
        if doc is not None:
            for index in self.indexes.values():
                index.add(key, doc)
        if doc is None and not keep:
            self.records.pop(key, None)
            self.history.discard(key)
        else:
            self.records[key] = version
            if keep and head is not None:
                self.history.add(key)
        return head

    def prune(self, oldest: int | None) -> None:
        """Drops versions no open snapshot can see; `oldest` None: no snapshot is open."""
        for key in list(self.history):
            head = self.records[key]
            before = _chain(head)
            if oldest is None:
                head.prev = None
            else:
                head.prune(oldest)
            after = _chain(head)
            live = [v.doc for v in after if v.doc is not None]
            for dropped in before[len(after) :]:
                if dropped.doc is not None:
                    for index in self.indexes.values():
                        index.discard(key, dropped.doc, live)
            if head.prev is None:
                self.history.discard(key)
                if head.doc is None:
                    del self.records[key]

    def add_index(self, index: Index) -> None:
        """Indexes every version a reader may see."""
        for key, head in self.records.items():
            for version in _chain(head):
                if version.doc is not None:
                    index.add(key, version.doc)
        self.indexes[index.name] = index


def _chain(head: Version) -> list[Version]:
    chain: list[Version] = []
    version: Version | None = head
    while version is not None:
        chain.append(version)
        version = version.prev
    return chain
