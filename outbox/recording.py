"""`record()` and `record_many()`: append events to the outbox inside the bound transaction.

Each aggregate's next versions come from its stream document in the same transaction, so
versions are contiguous. However many events and aggregates, recording takes at most three
round trips: the streams' increments, their new versions, and one insert of every event, which
waits to go with the transaction's other queued writes just before its commit (outbox.writes).

A caller that keeps its aggregates' versions itself (a document that holds its version and is
written only at the version it was read, as the shop's aggregates are) gives each event its
`version`: such events skip the streams, so recording them is the one insert. The outbox's
unique (aggregate, version) index refuses a second event at a version in any case.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bson import Binary
from pymongo import ReturnDocument, UpdateOne

from outbox.context import EventHeaders, current_headers
from outbox.errors import InvalidEventError, NoTransactionError
from outbox.events import OutboxEvent, OutboxStream, partition_of
from outbox.tracing import stamped
from outbox.transaction import in_transaction
from outbox.writes import insert_later

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to record: `<aggregate_type>.<name>` of one aggregate, with a JSON payload."""

    aggregate_type: str
    aggregate_id: str
    name: str
    payload: Mapping[str, Any]
    headers: EventHeaders | None = None
    version: int | None = None
    """The aggregate's version this event makes, kept by the caller; None: the next one of the
    aggregate's stream. One aggregate's events come all with a version or all without."""

    @property
    def stream(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id}"


async def record(
    *,
    aggregate_type: str,
    aggregate_id: str,
    name: str,
    payload: Mapping[str, Any],
    headers: EventHeaders | None = None,
    version: int | None = None,
) -> OutboxEvent:
    """Appends the event `<aggregate_type>.<name>` to the outbox in the bound transaction.

    Raises NoTransactionError outside a transaction: an event is never written apart from
    the state change it describes.
    """
    new = NewEvent(
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        name=name,
        payload=payload,
        headers=headers,
        version=version,
    )
    (event,) = await record_many([new])
    return event


async def record_many(events: Iterable[NewEvent]) -> list[OutboxEvent]:
    """Appends `events` in their order (one aggregate's in version order), like `record()`."""
    if not in_transaction():
        raise NoTransactionError(
            "record() needs an active transaction: call it inside @transactional() "
            "or `async with transaction()`"
        )
    new = list(events)
    bodies = [_checked(event) for event in new]  # every event is valid before any is written
    _check_versions(new)
    if not new:
        return []
    counts = Counter(event.stream for event in new if event.version is None)
    versions = await _reserve_versions(counts) if counts else {}
    defaults = stamped(current_headers())
    recorded = []
    for event, body in zip(new, bodies, strict=True):
        version = event.version
        if version is None:
            version = versions[event.stream] = versions[event.stream] + 1
        event_type = f"{event.aggregate_type}.{event.name}"
        recorded.append(
            OutboxEvent(
                type=event_type,
                aggregate_type=event.aggregate_type,
                aggregate_id=event.aggregate_id,
                aggregate_version=version,
                payload=body,
                headers=event.headers or defaults,
                routing_key=event_type,
                partition=partition_of(event.aggregate_type, event.aggregate_id),
            )
        )
    # Sent with the transaction's other queued writes, in the round trip before its commit.
    await insert_later(OutboxEvent.get_pymongo_collection(), *map(stored, recorded))
    return recorded


def stored(event: OutboxEvent) -> dict[str, Any]:
    """The event's document, as Beanie would encode it (its generic encoder took ~90 µs)."""
    return {"_id": Binary.from_uuid(event.id), **event.model_dump(exclude={"id", "revision_id"})}


def _checked(event: NewEvent) -> dict[str, Any]:
    """The event's payload as stored, once its names are known to be valid."""
    for label, value in (("aggregate_type", event.aggregate_type), ("name", event.name)):
        if not _NAME.match(value):
            raise InvalidEventError(f"{label} {value!r} must match {_NAME.pattern}")
    if not event.aggregate_id:
        raise InvalidEventError("aggregate_id must not be empty")
    try:
        return dict(json.loads(json.dumps(event.payload, allow_nan=False)))
    except (TypeError, ValueError) as e:
        raise InvalidEventError(f"event payload is not JSON: {e}") from e


def _check_versions(events: list[NewEvent]) -> None:
    """Given versions start at 1 and follow each other per aggregate, never beside None."""
    last: dict[str, int | None] = {}
    for event in events:
        version, stream = event.version, event.stream
        if version is not None and (isinstance(version, bool) or version < 1):
            raise InvalidEventError(f"version {version!r} of {stream} must be 1 or more")
        if stream in last:
            before = last[stream]
            if (before is None) != (version is None):
                raise InvalidEventError(
                    f"events of {stream} come all with a version or all without"
                )
            if version is not None and before is not None and version != before + 1:
                raise InvalidEventError(f"version {version} of {stream} does not follow {before}")
        last[stream] = version


async def _reserve_versions(counts: Mapping[str, int]) -> dict[str, int]:
    """Advances each stream by its count; returns each stream's last version before that."""
    streams = OutboxStream.get_pymongo_collection()
    if len(counts) == 1:  # one aggregate: one round trip
        [(stream_id, count)] = counts.items()
        stream = await streams.find_one_and_update(
            {"_id": stream_id},
            {"$inc": {"version": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert stream is not None  # upsert=True always returns the document
        return {stream_id: int(stream["version"]) - count}
    await streams.bulk_write(
        [
            UpdateOne({"_id": sid}, {"$inc": {"version": n}}, upsert=True)
            for sid, n in counts.items()
        ]
    )
    found = await streams.find({"_id": {"$in": list(counts)}}).to_list()
    last = {str(doc["_id"]): int(doc["version"]) for doc in found}
    return {stream_id: last[stream_id] - count for stream_id, count in counts.items()}
