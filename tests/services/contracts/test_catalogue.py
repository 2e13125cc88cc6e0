"""docs/events.md lists every event type the code can emit, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from services.contracts import PAYLOADS
from services.domain.history import event_types

CATALOGUE = Path(__file__).parents[3] / "docs" / "events.md"


def listed() -> dict[str, str]:
    """Event type → its row's payload column, from the catalogue's tables."""
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)`[^|]*\| ([^|]+) \|", CATALOGUE.read_text(), re.M)
    return dict(rows)


def test_the_catalogue_lists_exactly_the_event_types_the_domain_emits() -> None:
    assert set(listed()) == event_types() == set(PAYLOADS)


def test_each_listed_payload_names_every_field_of_its_model() -> None:
    for event_type, columns in listed().items():
        named = set(re.findall(r"`([a-z_]+)`", columns))
        fields = set(PAYLOADS[event_type].model_fields)
        assert fields <= named, f"{event_type}: {sorted(fields - named)} not in docs/events.md"
