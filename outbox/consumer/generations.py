"""Generations of a projection: whole copies of its collections, one of them active.

A consumer's projection lives in generation N: its collections are `<name>_g<N>` and its
inbox `inbox_<consumer>_g<N>`. Generation 0 is the un-suffixed collections and the shared
`inbox` collection (keyed by consumer name): what every deployment had before rebuilds.

One pointer document per consumer, `{_id: consumer, active: N, building: M | None}` in the
collection `projection_generations` of the consumer's database, says which generation readers
and the live consumer use, and which one a rebuild is building. No pointer: generation 0.

Handlers find their collections through `collection(Document)`, which names the copy of the
generation the consumer bound for this message (`bound`); readers call `active()` per request.
While a rebuild is building, `enter()` also writes the pointer in the live consumer's
transaction, so that it conflicts with the rebuild's switch: see `outbox.consumer.rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from beanie import Document
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

POINTERS = "projection_generations"
SHARED_INBOX = "inbox"


@dataclass(frozen=True, slots=True)
class Generation:
    """Generation `number` of `consumer`'s projection, and the names of its collections."""

    consumer: str
    number: int = 0

    def name(self, base: str) -> str:
        """The generation's copy of the collection `base`."""
        return base if self.number == 0 else f"{base}_g{self.number}"

    @property
    def inbox_name(self) -> str:
        return SHARED_INBOX if self.number == 0 else f"inbox_{self.consumer}_g{self.number}"

    def inbox(self, database: AsyncDatabase[Any]) -> AsyncCollection[Any]:
        return database[self.inbox_name]

    def collection(self, database: AsyncDatabase[Any], base: str) -> AsyncCollection[Any]:
        return database[self.name(base)]


@dataclass(frozen=True, slots=True)
class Pointer:
    """A consumer's pointer document: the active generation, and the one being built."""

    active: int = 0
    building: int | None = None

    @classmethod
    def of(cls, document: dict[str, Any] | None) -> Pointer:
        if document is None:
            return cls()
        return cls(active=int(document.get("active", 0)), building=document.get("building"))


def pointers(database: AsyncDatabase[Any]) -> AsyncCollection[Any]:
    return database[POINTERS]


async def read_pointer(database: AsyncDatabase[Any], consumer: str) -> Pointer:
    """The pointer as the bound session sees it (inside a transaction: its snapshot)."""
    return Pointer.of(await pointers(database).find_one({"_id": consumer}))


async def active(database: AsyncDatabase[Any], consumer: str) -> Generation:
    """The generation readers use now: one indexed read of the pointer."""
    return Generation(consumer, (await read_pointer(database, consumer)).active)


async def enter(database: AsyncDatabase[Any], consumer: str) -> Generation:
    """The generation the live consumer applies to, read inside its transaction.

    While a rebuild is building, the pointer is also written (a counter): a switch committed
    after this transaction's snapshot makes this write conflict, and the retry reads the new
    generation. Outside rebuilds it is one read.
    """
    pointer = await read_pointer(database, consumer)
    if pointer.building is not None:
        await pointers(database).update_one({"_id": consumer}, {"$inc": {"live_writes": 1}})
    return Generation(consumer, pointer.active)


_bound: ContextVar[Generation | None] = ContextVar("boundbox_generation", default=None)


@contextmanager
def bound(generation: Generation) -> Iterator[Generation]:
    """Handlers run inside apply to `generation`'s collections."""
    token = _bound.set(generation)
    try:
        yield generation
    finally:
        _bound.reset(token)


def current() -> Generation | None:
    """The generation bound for the running handler, if any."""
    return _bound.get()


def collection(document: type[Document]) -> AsyncCollection[Any]:
    """The bound generation's copy of `document`'s collection (generation 0 when unbound)."""
    base = document.get_pymongo_collection()
    generation = _bound.get()
    if generation is None or generation.number == 0:
        return base
    return base.database[generation.name(base.name)]
