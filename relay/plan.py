"""Which fetched events a batch publishes, as per-aggregate chains in version order. Pure: no I/O.

A chain starts at its aggregate's earliest unpublished event and runs through consecutive
versions; the publisher sends a chain's events one after the other, so version n+1 never
leaves before n is confirmed. An event is known to be the earliest unpublished one when it is
version 1, when this relay published its predecessor itself, or when the store was asked for
the aggregate's unpublished predecessors (`unverified` lists the aggregates to ask about).
A failed (parked) or backing-off event stops its chain and holds the aggregate back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outbox.events import EventStatus
from relay.errors import UnpublishableEventError
from relay.messages import Outgoing, build
from relay.records import AggregateKey, EventRef, parse, ref_of

type Document = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Item:
    """One event of a batch: its message, or why it cannot have one."""

    ref: EventRef
    document: Document
    outgoing: Outgoing | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """Consecutive versions of one aggregate, starting at its earliest unpublished event."""

    key: AggregateKey
    items: tuple[Item, ...]


@dataclass(slots=True)
class Plan:
    chains: list[Chain] = field(default_factory=list)
    unverified: set[AggregateKey] = field(default_factory=set)
    holds: dict[AggregateKey, datetime | None] = field(default_factory=dict)
    """Aggregates found blocked: until a retry time, or None while an event is parked."""
    orphans: list[Item] = field(default_factory=list)
    """Documents without a usable aggregate and version: they can only fail, alone."""

    @property
    def size(self) -> int:
        return sum(len(chain.items) for chain in self.chains) + len(self.orphans)


def item_of(document: Document, ref: EventRef | None = None, *, user_id: str | None = None) -> Item:
    ref = ref or ref_of(document)
    try:
        outgoing = build(parse(document), user_id=user_id)
        return Item(ref=ref, document=document, outgoing=outgoing)
    except UnpublishableEventError as e:
        return Item(ref=ref, document=document, outgoing=None, error=str(e))


def _retry_at(document: Document) -> datetime | None:
    value = document.get("available_at")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def plan(
    fetched: Sequence[Document],
    *,
    predecessors: Mapping[AggregateKey, Sequence[Document]] | None,
    last_published: Callable[[AggregateKey], int | None],
    now: datetime,
    max_items: int,
    user_id: str | None = None,
) -> Plan:
    """Chains from `fetched` (oldest first); `predecessors` holds, per aggregate asked about,
    its unpublished events older than those fetched (pending or failed). Messages are built
    for broker user `user_id`."""
    result = Plan()
    by_key: dict[AggregateKey, dict[int, Document]] = {}
    for document in fetched:
        ref = ref_of(document)
        if ref.version is None:
            result.orphans.append(item_of(document, ref, user_id=user_id))
        else:
            by_key.setdefault(ref.key, {}).setdefault(ref.version, document)
    budget = max_items - len(result.orphans)
    for key, versions in by_key.items():
        asked = predecessors is not None and key in predecessors
        if asked and predecessors is not None:
            for document in predecessors[key]:
                ref = ref_of(document)
                if ref.version is not None:
                    versions.setdefault(ref.version, document)
        first = min(versions)
        if not (first == 1 or asked or last_published(key) == first - 1):
            result.unverified.add(key)
            continue
        items = _chain(key, versions, first, now, result.holds, budget, user_id)
        if items:
            result.chains.append(Chain(key=key, items=items))
            budget -= len(items)
    return result


def _chain(
    key: AggregateKey,
    versions: Mapping[int, Document],
    first: int,
    now: datetime,
    holds: dict[AggregateKey, datetime | None],
    budget: int,
    user_id: str | None,
) -> tuple[Item, ...]:
    items: list[Item] = []
    version = first
    while version in versions and len(items) < budget:
        document = versions[version]
        ref = ref_of(document)
        if ref.status == EventStatus.FAILED:
            holds[key] = None
            break
        retry_at = _retry_at(document)
        if ref.attempts > 0 and retry_at is not None and retry_at > now:
            holds[key] = retry_at
            break
        items.append(item_of(document, ref, user_id=user_id))
        version += 1
    return tuple(items)
