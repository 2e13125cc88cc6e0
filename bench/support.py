"""What every benchmark needs: a MongoDB to talk to, and results written where users find them."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.processes import DevDbProcess

RESULTS = Path(__file__).with_name("results")


@contextlib.contextmanager
def mongodb() -> Iterator[str]:
    """MONGODB_URL when set, else a fresh in-memory dev database for the run."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    devdb = DevDbProcess().start()
    try:
        yield devdb.url
    finally:
        devdb.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(name: str, result: dict[str, Any]) -> Path:
    """Writes bench/results/<name>-<timestamp>.json and returns its path."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    meta = {"when": stamp, "python": platform.python_version(), "machine": platform.machine()}
    path.write_text(json.dumps({"benchmark": name, **meta, **result}, indent=2) + "\n")
    return path
