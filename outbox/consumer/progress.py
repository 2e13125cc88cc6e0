"""A progress bar for long passes: events done of the total, the rate and the time left.

On a terminal it redraws one line; elsewhere (a log file, a test reading a pipe) it prints a
plain line at every tenth of the way and at most every `interval` seconds otherwise.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """Counts what a pass has done; `start` each pass, `advance` per chunk, `finish` at its end."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self.label = ""
        self.total = self.done = 0
        self.started = self.shown = 0.0
        self._tenth = 0
        self._shown_done = -1

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.shown = time.monotonic()
        self._tenth = 0
        self._shown_done = -1
        self._show(force=True)

    def advance(self, count: int) -> None:
        self.done += count
        self._show()

    def finish(self) -> None:
        if self.done != self._shown_done or self.tty:
            self._show(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        total = max(self.total, self.done)
        share = self.done / total if total else 1.0
        left = (total - self.done) / rate if rate else 0.0
        bar = "#" * int(share * WIDTH)
        return (
            f"{self.label} [{bar:<{WIDTH}}] {self.done:,}/{total:,} events "
            f"{share:4.0%}  {rate:,.0f}/s  ETA {duration(left)}"
        )

    def _show(self, *, force: bool = False) -> None:
        now = time.monotonic()
        tenth = int(10 * self.done / self.total) if self.total else 10
        if self.tty:
            if force or now - self.shown >= 0.1:
                self.stream.write("\r" + self.line() + "\x1b[K")  # clear what was longer
            else:
                return
        elif force or tenth > self._tenth or now - self.shown >= self.interval:
            self.stream.write(self.line() + "\n")
        else:
            return
        self._tenth = tenth
        self._shown_done = self.done
        self.shown = now
        self.stream.flush()
