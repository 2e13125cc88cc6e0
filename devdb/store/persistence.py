"""Committed state on disk: one SQLite file, written in one SQLite transaction per commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson

from devdb.bsonvalues import CODEC

SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    db TEXT NOT NULL, name TEXT NOT NULL, meta BLOB NOT NULL, PRIMARY KEY (db, name)
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, db TEXT NOT NULL, coll TEXT NOT NULL, raw BLOB NOT NULL
);
"""


class Disk:
    """The SQLite file of a data directory; every method is one durable step."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / "devdb.sqlite3", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        row = self._db.execute("SELECT max(id) FROM documents").fetchone()
        self._next_id = int(row[0] or 0) + 1

    def allocate(self) -> int:
        rowid = self._next_id
        self._next_id += 1
        return rowid

    def collections(self) -> list[tuple[str, str, dict[str, Any]]]:
        rows = self._db.execute("SELECT db, name, meta FROM collections ORDER BY rowid")
        return [(db, name, bson.decode(meta, CODEC)) for db, name, meta in rows]

    def documents(self) -> Iterator[tuple[str, str, int, bytes]]:
        rows = self._db.execute("SELECT db, coll, id, raw FROM documents ORDER BY id")
        for db, coll, rowid, raw in rows:
            yield db, coll, rowid, bytes(raw)

    def commit(
        self,
        saved: list[tuple[int, str, str, bytes]],
        deleted: list[int],
        catalog: list[tuple[str, str, dict[str, Any] | None]],
    ) -> None:
        """Writes documents, deletions and collection metadata (None: dropped) at once."""
        db = self._db
        db.execute("BEGIN")
        try:
            for database, name, meta in catalog:
                if meta is None:
                    db.execute(
                        "DELETE FROM collections WHERE db = ? AND name = ?", (database, name)
                    )
                    db.execute("DELETE FROM documents WHERE db = ? AND coll = ?", (database, name))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO collections (db, name, meta) VALUES (?, ?, ?)",
                        (database, name, bson.encode(meta)),
                    )
            if deleted:
                db.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in deleted])
            if saved:
                db.executemany(
                    "INSERT OR REPLACE INTO documents (id, db, coll, raw) VALUES (?, ?, ?, ?)",
                    saved,
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
