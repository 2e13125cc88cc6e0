"""Each aggregate's document against the fold of its events, walked side by side in id order.

Per aggregate: the events fold (versions 1..n, no gap, no duplicate, each payload valid for
its contract, `apply` accepts each), the folded state equals the document field by field
(the version included, so the document's version is its event count). A document without
events, or events without a document, is a mismatch too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

from services.audit.report import AuditReport, Mismatch
from services.domain.aggregate import Aggregate
from services.domain.history import HistoryError, RecordedEvent, fold
from services.store import history as store

AGGREGATE_TYPES = {"category": "categories", "product": "products", "order": "orders"}
"""Each aggregate type, and how the report counts it."""

Progress = Callable[[int], None]
"""Told how many units of work (documents and events) were just checked."""

EventSink = Callable[[str, list[RecordedEvent]], None]
"""Sees every aggregate's events as they are read (e.g. to compute the sales figures)."""


async def check_aggregates(
    report: AuditReport, *, progress: Progress, sink: EventSink | None = None
) -> None:
    for aggregate_type in AGGREGATE_TYPES:
        pairs = _side_by_side(store.documents(aggregate_type), store.histories(aggregate_type))
        async for aggregate_id, stored, events in pairs:
            subject = f"{aggregate_type} {aggregate_id}"
            report.checked[AGGREGATE_TYPES[aggregate_type]] += 1
            report.checked["events"] += len(events)
            if sink is not None and events:
                sink(aggregate_type, events)
            _check_one(report, subject, aggregate_type, stored, events)
            progress(1 + len(events))


def _check_one(
    report: AuditReport,
    subject: str,
    aggregate_type: str,
    stored: Aggregate | None,
    events: list[RecordedEvent],
) -> None:
    if not events:
        report.mismatches.append(Mismatch(subject, "events", "a document", "no events"))
        return
    try:
        folded = fold(aggregate_type, events)
    except HistoryError as e:
        report.mismatches.append(Mismatch(subject, "history", "events", str(e)))
        return
    if stored is None:
        report.mismatches.append(Mismatch(subject, "document", None, "an aggregate"))
        return
    for field in dataclasses.fields(folded):
        ours, theirs = getattr(stored, field.name), getattr(folded, field.name)
        if ours != theirs:
            report.mismatches.append(Mismatch(subject, field.name, ours, theirs))


async def _side_by_side(
    documents: AsyncIterator[Aggregate],
    histories: AsyncIterator[tuple[str, list[RecordedEvent]]],
) -> AsyncIterator[tuple[str, Aggregate | None, list[RecordedEvent]]]:
    """Merges two id-ordered streams: (id, its document or None, its events or [])."""
    document = await anext(documents, None)
    history = await anext(histories, None)
    while document is not None or history is not None:
        first = min(key for key in (_id(document), _id(history)) if key is not None)
        here = document if document is not None and document.id == first else None
        events = history[1] if history is not None and history[0] == first else []
        yield first, here, events
        if here is not None:
            document = await anext(documents, None)
        if history is not None and history[0] == first:
            history = await anext(histories, None)


def _id(item: Aggregate | tuple[str, list[RecordedEvent]] | None) -> str | None:
    if item is None:
        return None
    return item.id if isinstance(item, Aggregate) else item[0]
