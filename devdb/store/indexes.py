"""Indexes: hash maps from index keys to documents, for equality lookups and uniqueness.

An index holds an entry for every version a reader may still see, so a lookup gives a
superset of the matches, which the caller checks against the visible version with the filter.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from devdb.bsonvalues import equality_key
from devdb.store.versions import Document, Key

MISSING_KEY = equality_key(None)


def values_at(document: Any, path: list[str]) -> list[Any]:
    """The values an index sees at `path`: arrays are expanded (multikey), missing is None."""
    if not path:
        if isinstance(document, list):
            return list(document) or [None]
        return [document]
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        if head not in document:
            return [None]
        return values_at(document[head], rest)
    if isinstance(document, list):
        found: list[Any] = []
        if head.isdigit() and int(head) < len(document):
            found += values_at(document[int(head)], rest)
        for element in document:
            if isinstance(element, dict):
                found += values_at(element, path)
        return found or [None]
    return [None]


@dataclass(eq=False)
class Index:
    """One index of a collection, as listIndexes shows it, with its entries."""

    name: str
    keys: list[tuple[str, Any]]
    spec: dict[str, Any]
    entries: dict[Hashable, set[Key]] = field(default_factory=dict)
    """Full index keys (a tuple, one part per field) and their proper prefixes, to documents."""

    @property
    def unique(self) -> bool:
        return bool(self.spec.get("unique")) or self.name == "_id_"

    @property
    def sparse(self) -> bool:
        return bool(self.spec.get("sparse"))

    @property
    def partial(self) -> dict[str, Any] | None:
        partial = self.spec.get("partialFilterExpression")
        return partial if isinstance(partial, dict) else None

    @property
    def hashable(self) -> bool:
        """True when every key is a plain ascending, descending or hashed field."""
        return all(kind in (1, -1, "hashed") or isinstance(kind, float) for _, kind in self.keys)

    def index_keys(self, document: Document) -> list[tuple[Hashable, ...]]:
        """The entries `document` makes (none for a sparse index missing every field)."""
        per_field = [values_at(document, name.split(".")) for name, _ in self.keys]
        if self.sparse and all(values == [None] for values in per_field):
            return []
        return list(
            {
                tuple(equality_key(v) for v in combination): None
                for combination in itertools.product(*per_field)
            }
        )

    def _with_prefixes(self, document: Document) -> set[tuple[Hashable, ...]]:
        """The document's entries and every proper prefix of them (compound lookups)."""
        entries = self.index_keys(document)
        return {entry[:n] for entry in entries for n in range(1, len(entry) + 1)}

    def add(self, key: Key, document: Document) -> None:
        if self.name == "_id_":
            return  # the collection's records are the `_id` index
        for entry in self._with_prefixes(document):
            self.entries.setdefault(entry, set()).add(key)

    def discard(self, key: Key, document: Document, keep: Iterable[Document] = ()) -> None:
        """Removes `document`'s entries for `key`, except those a kept version still makes."""
        if self.name == "_id_":
            return
        kept = {entry for other in keep for entry in self._with_prefixes(other)}
        for entry in self._with_prefixes(document):
            if entry in kept:
                continue
            holders = self.entries.get(entry)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self.entries[entry]

    def count(self, values: list[list[Any]]) -> int:
        """How many keys `lookup(values)` yields, at most (a key may hold several entries)."""
        entries = self.entries
        return sum(
            len(entries.get(tuple(equality_key(v) for v in combination), ()))
            for combination in itertools.product(*values)
        )

    def lookup(self, values: list[list[Any]]) -> Iterator[Key]:
        """Keys whose entries match one of the given values per field of a prefix."""
        for combination in itertools.product(*values):
            yield from self.entries.get(tuple(equality_key(v) for v in combination), ())


def id_index_spec() -> dict[str, Any]:
    return {"v": 2, "key": {"_id": 1}, "name": "_id_"}
