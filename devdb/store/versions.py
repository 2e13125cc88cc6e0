"""A document's versions: the newest committed first, older ones while a snapshot needs them."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

Key = Hashable
"""A document's identity in its collection: the equality key of its `_id`."""

Document = dict[str, Any]


@dataclass(slots=True, eq=False)
class Version:
    """One committed state of a document; `doc` is None for a deletion. Never mutated."""

    ts: int
    doc: Document | None
    raw: bytes | None
    prev: Version | None = None

    def at(self, snapshot: int) -> Version | None:
        """The version a reader at `snapshot` sees (a deletion counts as a version)."""
        version: Version | None = self
        while version is not None and version.ts > snapshot:
            version = version.prev
        return version

    def prune(self, oldest: int) -> None:
        """Drops versions no reader at `oldest` or later can see."""
        version: Version | None = self
        while version is not None and version.ts > oldest:
            version = version.prev
        if version is not None:
            version.prev = None
