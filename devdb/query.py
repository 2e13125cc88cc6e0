"""Reads: a filter's matches, found through an index where one applies, sorted and projected.

Each piece of semantics has a native fast path (`semantics.filters`, `.projection`) and falls
back to mongoeco's full engine (`semantics.full`) for whatever the fast path declines.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bson.raw_bson import RawBSONDocument
from bson.regex import Regex

from devdb.bsonvalues import equality_key
from devdb.errors import bad_value
from devdb.semantics import filters, full, projection
from devdb.store.collection import Collection
from devdb.store.engine import Store
from devdb.store.indexes import Index
from devdb.store.transactions import Transaction
from devdb.store.versions import Document, Key
from devdb.text import compile_text

Match = tuple[Key, Document, bytes]


def compile_filter(spec: Any) -> Callable[[Document], bool]:
    """A predicate for a filter document: the native one when it applies."""
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise bad_value("filter must be an object")
    if not spec:
        return _everything
    return filters.compile_filter(spec) or full.compile_match(spec)


def _everything(_: Document) -> bool:
    return True


def _equalities(condition: Any) -> list[Any] | None:
    """The values an equality condition allows, or None when it is not one."""
    if isinstance(condition, dict):
        if set(condition) == {"$eq"}:
            condition = condition["$eq"]
        elif set(condition) == {"$in"} and isinstance(condition["$in"], list):
            values = condition["$in"]
            return None if any(not _indexable(v) for v in values) else list(values)
        else:
            return None
    return [condition] if _indexable(condition) else None


def _indexable(value: Any) -> bool:
    return not isinstance(value, list | dict | Regex) and not hasattr(value, "pattern")


def candidate_keys(collection: Collection, spec: Mapping[str, Any]) -> list[Key] | None:
    """Keys that include every match, from `_id` or an index; None when a scan is needed."""
    if "_id" in spec and (ids := _equalities(spec["_id"])) is not None:
        return [equality_key(v) for v in ids]
    # The index that leaves the fewest keys to check: a pending event's status, say, rather
    # than its aggregate's whole history (or the other way round, in a backlog).
    best: tuple[int, Index, list[list[Any]]] | None = None
    for index in collection.indexes.values():
        if not index.hashable or index.sparse or index.partial is not None:
            continue
        values: list[list[Any]] = []
        for name, _ in index.keys:
            allowed = _equalities(spec.get(name)) if name in spec else None
            if allowed is None or any(part.isdigit() for part in name.split(".")):
                break
            values.append(allowed)
        if not values:
            continue
        size = index.count(values)
        if best is None or size < best[0]:
            best = (size, index, values)
            if size == 0:
                break
    if best is None:
        return None
    return list(dict.fromkeys(best[1].lookup(best[2])))


def matches(
    store: Store,
    collection: Collection | None,
    txn: Transaction | None,
    spec: Mapping[str, Any] | None,
    predicate: Callable[[Document], bool] | None = None,
) -> Iterator[Match]:
    """Every document of `collection` the reader sees that matches `spec`.

    `predicate`: `compile_filter(spec)` when the caller has it already (not for `$text`).
    """
    if collection is None:
        return
    spec = spec or {}
    if "$text" in spec:
        predicate = _text_and(collection, spec)
    elif predicate is None:
        predicate = compile_filter(spec)
    keys = candidate_keys(collection, spec) if spec else None
    for key, doc, raw in store.documents(collection, txn, keys):
        if predicate(doc):
            yield key, doc, raw


def _text_and(collection: Collection, spec: Mapping[str, Any]) -> Callable[[Document], bool]:
    """The `$text` search of `spec` and the rest of its filter."""
    text = compile_text(collection, spec["$text"])
    rest = compile_filter({k: v for k, v in spec.items() if k != "$text"})
    return lambda doc: text(doc) and rest(doc)


SORT_KEY_CACHE = 200_000
SORT_SPECS = 32
_sort_keys: dict[str, dict[int, tuple[bytes, Any]]] = {}
"""Sort keys per sort document, by stored version: a version's bytes never change, so a
backlog read again and again in the same order (a relay's) costs one key per document."""


def _cached(
    native: Callable[[Document], Any], cache: dict[int, tuple[bytes, Any]]
) -> Callable[[Match], Any]:
    def key(match: Match) -> Any:
        raw = match[2]
        hit = cache.get(id(raw))
        if hit is not None and hit[0] is raw:
            return hit[1]
        if len(cache) >= SORT_KEY_CACHE:
            cache.clear()
        value = native(match[1])
        cache[id(raw)] = (raw, value)
        return value

    return key


def order(found: list[Match], sort: Any, first: int | None = None) -> list[Match]:
    """`found` in the order of a sort document; with `first`, only that many, the first ones."""
    if not sort:
        return found
    if not isinstance(sort, Mapping):
        raise bad_value("sort must be an object")
    native = projection.compile_sort(sort)
    if native is not None:
        if len(_sort_keys) > SORT_SPECS:
            _sort_keys.clear()
        key_function = _cached(native, _sort_keys.setdefault(repr(list(sort.items())), {}))
        if first is not None and first < len(found):  # as sorted(...)[:first], stable too
            return heapq.nsmallest(first, found, key=key_function)
        return sorted(found, key=key_function)
    # mongoeco sorts copies: tag each with its position to find the originals again.
    tagged = [{**m[1], "__devdb_pos": n} for n, m in enumerate(found)]
    return [found[int(d["__devdb_pos"])] for d in full.sort(tagged, sort)]


def shape(found: list[Match], spec: Any, selector: Any = None) -> list[Any]:
    """The documents to send: raw bytes unless a projection reshapes them."""
    if not spec:
        return [RawBSONDocument(raw) for _, _, raw in found]
    if not isinstance(spec, Mapping):
        raise bad_value("projection must be an object")
    native = projection.compile_projection(spec)
    if native is not None:
        return [native(doc) for _, doc, _ in found]
    documents = [doc for _, doc, _ in found]
    if any(_computed(value) for value in spec.values()):  # find's aggregation expressions
        return full.aggregate(documents, [{"$project": dict(spec)}], resolver=None)
    return full.project(documents, spec, selector)


def _computed(value: Any) -> bool:
    """A projection value that is an expression, not a flag or a projection operator."""
    if isinstance(value, bool) or (isinstance(value, int | float) and value in (0, 1)):
        return False
    if isinstance(value, Mapping):
        return not set(value) <= {"$slice", "$elemMatch", "$meta"}
    return True
