"""A socket transport left to the garbage collector names the test and the code that made it.

asyncio warns about an unclosed transport when the collector finds it, during whichever test
runs then, and names nothing but its file descriptor. With this installed, the warning (an
error under the suite's filterwarnings) also says which test made the transport and through
which frames of the project and the library (pymongo, httpx, aiormq...) that opened it.
Recording costs a walk of a few frames per connection.
"""

from __future__ import annotations

import os
import sys
import warnings
from asyncio import selector_events
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parents[2])
PROJECT_FRAMES = 6
LIBRARY_FRAMES = 3


def install() -> None:
    """Wraps the selector transport's constructor and finalizer, once per process."""
    transport: Any = selector_events._SelectorSocketTransport
    if getattr(transport, "_boundbox_origin", False):
        return
    made = transport.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self._boundbox_origin = _origin(sys._getframe(1))

    def finalizing(self: Any, _warn: Any = warnings.warn) -> None:
        if self._sock is None:
            return
        try:
            origin = getattr(self, "_boundbox_origin", "")
            _warn(f"unclosed transport {self!r}{origin}", ResourceWarning, source=self)
        finally:
            self._sock.close()
            if self._server is not None:
                self._server._detach(self)

    transport.__init__ = recording
    transport.__del__ = finalizing
    transport._boundbox_origin = True


def _origin(frame: Any) -> str:
    """ " made in <test> at <library frames> <- <project frames>", innermost first."""
    library: list[str] = []
    project: list[str] = []
    while frame is not None and len(project) < PROJECT_FRAMES:
        path = frame.f_code.co_filename
        where = f"{Path(path).name}:{frame.f_lineno} {frame.f_code.co_name}"
        if path.startswith(ROOT) and "/.venv/" not in path:
            project.append(where)
        elif not project and "asyncio" not in path and len(library) < LIBRARY_FRAMES:
            library.append(where)
        frame = frame.f_back
    test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test")
    return f" made in {test} at {' <- '.join(library + project)}"
