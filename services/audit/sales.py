"""The sales projection against the figures its order events imply.

The expectation is computed with the projection's own arithmetic (`services.sales.figures`)
from every `order.*` event in the event store, published or not: a projection that has caught
up holds exactly these figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from services.audit.report import AuditReport, Mismatch
from services.domain.history import RecordedEvent
from services.sales.figures import Figures, Tally


class ExpectedSales:
    """Fed every aggregate's events (an audit event sink); adds up the order events."""

    def __init__(self) -> None:
        self.tally = Tally()

    def __call__(self, aggregate_type: str, events: list[RecordedEvent]) -> None:
        if aggregate_type == "order":
            for event in events:
                self.tally.add(event)


def check_sales(report: AuditReport, expected: Figures, stored: Figures) -> None:
    """One mismatch per product or customer field whose stored figure differs."""
    for kind, ours, theirs in (
        ("sales product", stored.products, expected.products),
        ("sales customer", stored.customers, expected.customers),
    ):
        for key in sorted(ours.keys() | theirs.keys()):
            report.checked[f"{kind}s"] += 1
            here, derived = _values(ours.get(key)), _values(theirs.get(key))
            for name in sorted(here.keys() | derived.keys()):
                if here.get(name, 0) != derived.get(name, 0):
                    report.mismatches.append(
                        Mismatch(f"{kind} {key}", name, here.get(name), derived.get(name))
                    )


def _values(figures: Any) -> Mapping[str, int]:
    return {} if figures is None else dataclasses.asdict(figures)
