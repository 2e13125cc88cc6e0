"""What an audit found: one mismatch per field that the store and the events disagree on."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any


@dataclass(frozen=True, slots=True)
class Mismatch:
    """`subject` (e.g. "product 65f0…") has `stored` in `field`; its events say `from_events`."""

    subject: str
    field: str
    stored: Any
    from_events: Any

    def line(self) -> str:
        return (
            f"{self.subject}: {self.field}: stored {_shown(self.stored)}, "
            f"from events {_shown(self.from_events)}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "field": self.field,
            "stored": plain(self.stored),
            "from_events": plain(self.from_events),
        }


@dataclass(slots=True)
class AuditReport:
    checked: Counter[str] = field(default_factory=Counter)  # what was compared, by kind
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        checked = ", ".join(f"{count} {kind}" for kind, count in sorted(self.checked.items()))
        verdict = (
            "state = events"
            if self.ok
            else f"{len(self.mismatches)} mismatch{'es' if len(self.mismatches) != 1 else ''}"
        )
        return f"audit: {verdict} ({checked or 'nothing to check'})"

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": dict(sorted(self.checked.items())),
            "mismatches": [mismatch.as_json() for mismatch in self.mismatches],
        }


def plain(value: Any) -> Any:
    """JSON-ready: decimals and datetimes as strings, dataclasses and tuples as objects/lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def _shown(value: Any) -> str:
    shown = repr(plain(value))
    return shown if len(shown) <= 200 else shown[:197] + "..."
