"""The store: collections by database, snapshot reads, staged and committed writes.

Everything runs on the server's one event loop thread, and no method awaits, so each call is
atomic. Readers outside a transaction see the newest committed state; a transaction reads the
state as of its start plus its own writes. A write to a document that another open transaction
wrote, or that changed since the writer's snapshot, is a WriteConflict; a write outside any
transaction to a document an open transaction wrote raises `Blocked`, and the caller waits
for that transaction to end and tries again, as mongod makes such writes wait.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import bson

from devdb import errors
from devdb.bsonvalues import CODEC, equality_key
from devdb.store.changes import Change, ChangeLog
from devdb.store.collection import Collection
from devdb.store.indexes import Index, values_at
from devdb.store.persistence import Disk
from devdb.store.transactions import Staged, Transaction, TxnKey
from devdb.store.versions import Document, Key


class Blocked(Exception):  # noqa: N818 - a signal to wait, not an error
    """A write outside a transaction met a document an open transaction holds."""

    def __init__(self, holder: Transaction) -> None:
        super().__init__("blocked by an open transaction")
        self.holder = holder


class Write:
    """One document write, before it is staged or committed."""

    __slots__ = ("before", "collection", "doc", "key", "operation", "raw")

    def __init__(
        self,
        collection: Collection,
        key: Key,
        doc: Document | None,
        raw: bytes | None,
        operation: str,
        before: Document | None,
    ) -> None:
        self.collection = collection
        self.key = key
        self.doc = doc
        self.raw = raw
        self.operation = operation
        self.before = before


class Store:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.ts = 0
        self.catalog: dict[str, dict[str, Collection]] = {}
        self.transactions: dict[TxnKey, Transaction] = {}
        self.locks: dict[tuple[str, str, Key], Transaction] = {}
        self.changes = ChangeLog()
        self._dirty: set[Collection] = set()
        self._disk = Disk(data_dir) if data_dir is not None else None
        if self._disk is not None:
            self._load(self._disk)

    # -- catalog --------------------------------------------------------------------------

    def collection(self, db: str, name: str, txn: Transaction | None = None) -> Collection | None:
        if txn is not None and (db, name) in txn.created:
            return txn.created[(db, name)]
        return self.catalog.get(db, {}).get(name)

    def collections(self, db: str, txn: Transaction | None = None) -> list[Collection]:
        found = list(self.catalog.get(db, {}).values())
        if txn is not None:
            found += [c for (d, _), c in txn.created.items() if d == db]
        return found

    def databases(self) -> list[str]:
        return [name for name, colls in self.catalog.items() if colls]

    def create(
        self,
        db: str,
        name: str,
        options: dict[str, Any] | None = None,
        txn: Transaction | None = None,
    ) -> Collection:
        """Creates a collection (inside `txn`: visible to it alone until it commits)."""
        if self.collection(db, name, txn) is not None:
            raise errors.namespace_exists(f"{db}.{name}")
        collection = Collection(db, name, dict(options or {}))
        if txn is not None:
            txn.created[(db, name)] = collection
        else:
            self.catalog.setdefault(db, {})[name] = collection
            self.save_catalog(collection)
        return collection

    def ensure(self, db: str, name: str, txn: Transaction | None = None) -> Collection:
        """The collection, created implicitly (as an insert or upsert does) when missing."""
        return self.collection(db, name, txn) or self.create(db, name, txn=txn)

    def drop(self, collection: Collection) -> None:
        self.catalog.get(collection.database, {}).pop(collection.name, None)
        self._dirty.discard(collection)
        if self._disk is not None:
            self._disk.commit([], [], [(collection.database, collection.name, None)])
        self.changes.append([self._event("drop", collection)])

    def rename(self, collection: Collection, db: str, name: str) -> None:
        old_db, old_name = collection.database, collection.name
        self.catalog[old_db].pop(old_name)
        collection.database, collection.name = db, name
        self.catalog.setdefault(db, {})[name] = collection
        if self._disk is not None:
            saved = [
                (rowid, db, name, head.raw)
                for key, head in collection.records.items()
                if head.raw is not None and (rowid := collection.rowids.get(key)) is not None
            ]
            self._disk.commit(saved, [], [(old_db, old_name, None), (db, name, _meta(collection))])

    def save_catalog(self, collection: Collection) -> None:
        """Persists a collection's options and index specs."""
        if self._disk is not None:
            self._disk.commit([], [], [(collection.database, collection.name, _meta(collection))])

    def add_index(self, collection: Collection, index: Index) -> None:
        collection.add_index(index)
        self.save_catalog(collection)

    # -- reads ----------------------------------------------------------------------------

    def snapshot(self, txn: Transaction | None) -> int:
        return txn.snapshot if txn is not None else self.ts

    def documents(
        self, collection: Collection, txn: Transaction | None, keys: Iterable[Key] | None = None
    ) -> Iterator[tuple[Key, Document, bytes]]:
        """Live documents the reader sees: all of them, or those among `keys`."""
        snapshot = self.snapshot(txn)
        staged = txn.writes.get((collection.database, collection.name), {}) if txn else {}
        if keys is None:
            for key, doc, raw in collection.visible(snapshot):
                if key not in staged:
                    yield key, doc, raw
            for key, write in list(staged.items()):
                if write.doc is not None and write.raw is not None:
                    yield key, write.doc, write.raw
            return
        # As `get` for each key, inlined: index lookups walk many keys (a relay's backlog).
        seen: set[Key] = set()
        records = collection.records
        for key in keys:
            if key in seen:
                continue
            seen.add(key)
            if staged and (mine := staged.get(key)) is not None:
                if mine.doc is not None and mine.raw is not None:
                    yield key, mine.doc, mine.raw
                continue
            head = records.get(key)
            if head is None:
                continue
            version = head if head.ts <= snapshot else head.at(snapshot)
            if version is not None and version.doc is not None and version.raw is not None:
                yield key, version.doc, version.raw
        for key, write in list(staged.items()):
            if key not in seen and write.doc is not None and write.raw is not None:
                yield key, write.doc, write.raw

    def get(
        self, collection: Collection, key: Key, txn: Transaction | None
    ) -> tuple[Document, bytes] | None:
        if txn is not None:
            write = txn.writes.get((collection.database, collection.name), {}).get(key)
            if write is not None:
                return None if write.doc is None or write.raw is None else (write.doc, write.raw)
        version = collection.get(key, self.snapshot(txn))
        if version is None or version.doc is None or version.raw is None:
            return None
        return version.doc, version.raw

    # -- writes ---------------------------------------------------------------------------

    def check(self, write: Write, txn: Transaction | None) -> None:
        """Raises WriteConflict, Blocked or DuplicateKey before `write` is applied."""
        collection = write.collection
        holder = self.locks.get((collection.database, collection.name, write.key))
        if holder is not None and holder is not txn:
            if txn is None or txn.internal:
                raise Blocked(holder)
            raise errors.write_conflict()
        if txn is not None:
            head = collection.records.get(write.key)
            if head is not None and head.ts > txn.snapshot:
                raise errors.write_conflict()
        if write.doc is not None:
            self._check_unique(write, txn)

    def _check_unique(
        self, write: Write, txn: Transaction | None, *, against_staged: bool = True
    ) -> None:
        collection, doc = write.collection, write.doc
        assert doc is not None
        namespace = (collection.database, collection.name)
        staged = txn.writes.get(namespace, {}) if txn else {}
        for index in _unique_indexes(collection):
            mine = set(index.index_keys(doc))
            if not mine:
                continue
            for entry in mine:
                for other in list(index.entries.get(entry, ())):
                    if other == write.key:
                        continue
                    if other in staged:
                        continue
                    head = collection.records.get(other)
                    if head is None or head.doc is None or entry not in index.index_keys(head.doc):
                        continue
                    if txn is not None and head.ts > txn.snapshot:
                        raise errors.write_conflict()
                    raise _duplicate(collection, index, doc)
            if txn is None or not against_staged or not staged:
                continue
            table = _staged_entries(txn, namespace, index, staged)
            if any(table.get(entry, set()) - {write.key} for entry in mine):
                raise _duplicate(collection, index, doc)

    def apply(self, writes: list[Write], txn: Transaction | None) -> None:
        """Stages `writes` in `txn`, or commits them at once (already checked)."""
        if txn is not None:
            for write in writes:
                collection = write.collection
                namespace = (collection.database, collection.name)
                staged = txn.staged(namespace)
                earlier = staged.get(write.key)
                operation = write.operation
                _restage_entries(txn, namespace, write, earlier)
                if earlier is not None and earlier.operation == "insert":
                    if write.doc is None:  # inserted and deleted again: nothing to commit
                        del staged[write.key]
                        self.locks.pop((collection.database, collection.name, write.key), None)
                        continue
                    operation = "insert"
                staged[write.key] = Staged(write.doc, write.raw, operation, write.before)
                self.locks[(collection.database, collection.name, write.key)] = txn
            return
        self._commit_writes(writes, [])

    def begin_internal(self) -> Transaction:
        """A transaction for one command outside any: never registered, committed at once."""
        return Transaction((b"", 0), self.ts, internal=True)

    def begin(self, key: TxnKey) -> Transaction:
        txn = Transaction(key, self.ts)
        self.transactions[key] = txn
        return txn

    def commit(self, txn: Transaction) -> None:
        """Makes the transaction's writes visible to all, atomically, or raises WriteConflict."""
        created = list(txn.created.values())
        for collection in created:
            if self.collection(collection.database, collection.name) is not None:
                self.abort(txn)
                raise errors.write_conflict()
        writes: list[Write] = []
        for (db, name), staged in txn.writes.items():
            target = self.collection(db, name, txn)
            assert target is not None
            for key, change in staged.items():
                writes.append(
                    Write(target, key, change.doc, change.raw, change.operation, change.before)
                )
        for write in writes:  # unique entries of other transactions committed since
            if write.doc is not None:
                try:  # staged writes were checked against each other as they were staged
                    self._check_unique(write, txn, against_staged=False)
                except errors.CommandError:
                    self.abort(txn)
                    raise errors.write_conflict() from None
        for collection in created:
            self.catalog.setdefault(collection.database, {})[collection.name] = collection
        self._end(txn, "committed")
        self._commit_writes(writes, created)

    def abort(self, txn: Transaction) -> None:
        if txn.state == "open":
            self._end(txn, "aborted")

    def _end(self, txn: Transaction, state: str) -> None:
        txn.state = state
        self.transactions.pop(txn.key, None)
        for (db, name), staged in txn.writes.items():
            for key in staged:
                if self.locks.get((db, name, key)) is txn:
                    del self.locks[(db, name, key)]
        txn.finished.set()
        if state == "aborted":
            self._prune()

    def _commit_writes(self, writes: list[Write], created: list[Collection]) -> None:
        ts = self.ts + 1
        keep = bool(self.transactions)
        saved: list[tuple[int, str, str, bytes]] = []
        deleted: list[int] = []
        events: list[Change] = []
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        for n, write in enumerate(writes):
            collection = write.collection
            collection.install(write.key, write.doc, write.raw, ts, keep)
            if keep:
                self._dirty.add(collection)
            if self._disk is not None:
                if write.raw is not None:
                    rowid = collection.rowids.get(write.key)
                    if rowid is None:
                        rowid = collection.rowids[write.key] = self._disk.allocate()
                    saved.append((rowid, collection.database, collection.name, write.raw))
                elif (rowid := collection.rowids.pop(write.key, None)) is not None:
                    deleted.append(rowid)
            doc_id = (write.doc if write.doc is not None else write.before or {}).get("_id")
            events.append(
                Change(
                    (ts, n),
                    write.operation,
                    collection.database,
                    collection.name,
                    doc_id,
                    write.before,
                    write.doc,
                    now,
                )
            )
        self.ts = ts
        if self._disk is not None and (saved or deleted or created):
            self._disk.commit(saved, deleted, [(c.database, c.name, _meta(c)) for c in created])
        self.changes.append(events)
        self._prune()

    def _prune(self) -> None:
        if not self._dirty:
            return
        oldest = min((t.snapshot for t in self.transactions.values()), default=None)
        for collection in list(self._dirty):
            collection.prune(oldest)
            if not collection.history:
                self._dirty.discard(collection)

    def _event(self, operation: str, collection: Collection) -> Change:
        """A change of a whole collection (a drop), after the last commit's."""
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        position = (self.ts, 1 << 30)
        return Change(
            position, operation, collection.database, collection.name, None, None, None, now
        )

    # -- start-up and shutdown ------------------------------------------------------------

    def _load(self, disk: Disk) -> None:
        for db, name, meta in disk.collections():
            collection = Collection(db, name, meta.get("options", {}))
            self.catalog.setdefault(db, {})[name] = collection
            for spec in meta.get("indexes", []):
                if spec["name"] != "_id_":
                    collection.indexes[spec["name"]] = Index(spec["name"], _fields(spec), spec)
        for db, coll, rowid, raw in disk.documents():
            owner = self.catalog.get(db, {}).get(coll)
            if owner is None:
                continue
            doc = bson.decode(raw, CODEC)
            key = equality_key(doc.get("_id"))
            owner.rowids[key] = rowid
            owner.install(key, doc, raw, 0, False)

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()


def _fields(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """An index's fields from its listed spec (a text index lists its fields as weights)."""
    if "_fts" in spec["key"]:
        return [(field, "text") for field in spec.get("weights") or {}]
    return list(spec["key"].items())


def _meta(collection: Collection) -> dict[str, Any]:
    return {"options": collection.options, "indexes": [i.spec for i in collection.indexes.values()]}


def _duplicate(collection: Collection, index: Index, doc: Document) -> errors.CommandError:
    pattern = dict(index.keys)
    value = {name: values_at(doc, name.split("."))[0] for name, _ in index.keys}
    return errors.duplicate_key(collection.namespace, index.name, pattern, value)


def _unique_indexes(collection: Collection) -> Iterator[Index]:
    """The unique indexes a write is checked against here (partial ones: by the commands)."""
    for index in collection.indexes.values():
        if index.unique and index.name != "_id_" and index.hashable and index.partial is None:
            yield index


def _staged_entries(
    txn: Transaction, namespace: tuple[str, str], index: Index, staged: dict[Key, Staged]
) -> dict[Any, set[Key]]:
    """The entries of `index` that the transaction's staged documents make."""
    table = txn.unique_entries.get((namespace, index.name))
    if table is None:
        table = {}
        for key, change in staged.items():
            if change.doc is not None:
                for entry in index.index_keys(change.doc):
                    table.setdefault(entry, set()).add(key)
        txn.unique_entries[(namespace, index.name)] = table
    return table


def _restage_entries(
    txn: Transaction, namespace: tuple[str, str], write: Write, earlier: Staged | None
) -> None:
    """Keeps the built entry tables in step as `write` replaces the `earlier` staged state."""
    for index in _unique_indexes(write.collection):
        table = txn.unique_entries.get((namespace, index.name))
        if table is None:
            continue
        if earlier is not None and earlier.doc is not None:
            for entry in index.index_keys(earlier.doc):
                holders = table.get(entry)
                if holders is not None:
                    holders.discard(write.key)
                    if not holders:
                        del table[entry]
        if write.doc is not None:
            for entry in index.index_keys(write.doc):
                table.setdefault(entry, set()).add(write.key)
