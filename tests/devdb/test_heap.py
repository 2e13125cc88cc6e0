"""The dev database's process freezes what survives a full collection (see devdb.heap)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from devdb.heap import freeze_after_full_collections
freeze_after_full_collections()
freeze_after_full_collections()  # once only
data = [{"n": n, "tags": [n]} for n in range(10_000)]
gc.collect()
print(gc.get_freeze_count() >= 20_000, len(gc.callbacks), gc.collect(2) == 0)
"""


def test_a_full_collection_freezes_its_survivors() -> None:
    # In a process of its own: freezing is for the server's process, not the test runner's.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["True", "1", "True"]
