"""Stored data out of the cyclic garbage collector's way, in the server's process only.

Documents and index entries are dicts, lists, tuples and sets that live as long as the data and
never form cycles (reference counting frees them). CPython's full collection still walks every
one of them each time the heap grows by a quarter: with a million stored events that was a
pause of many seconds on our 2-core machines (3.5 s at 200,000 events), long enough for a
driver to time out its heartbeat and retry a write. So after each full collection everything
that survived it is frozen (`gc.freeze`): later collections walk only newer objects. Frozen
objects are still freed by reference counting; only cycles among them are never collected.
"""

from __future__ import annotations

import gc
from typing import Any


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def freeze_after_full_collections() -> None:
    """Installs the freezing (once) for this process."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)
