"""What every benchmark needs: a MongoDB to talk to, and results written where users find them."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.processes import mongodb_under_test

RESULTS = Path(__file__).with_name("results")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default after its help; the description's own line breaks kept."""


def arguments(name: str, description: str | None) -> argparse.ArgumentParser:
    """The parser of `python -m bench NAME`: `--help` describes it and shows the defaults."""
    return argparse.ArgumentParser(
        prog=f"python -m bench {name}", description=description, formatter_class=HelpFormatter
    )


mongodb = mongodb_under_test
"""MONGODB_URL when set, else a fresh in-memory dev database for the run."""


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
