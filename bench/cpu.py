"""CPU time of the processes in a measurement: this one, and local servers found by their port.

When the relay, the database and the broker share a machine, the drain cannot exceed
cores / (their CPU per event together), however well the relay overlaps its work. Measuring
each process's CPU beside the rates shows where that ceiling lies. Linux only (`/proc`); on
other systems, or for servers on other hosts, the figures are simply left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # TCP state in /proc/net/tcp


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), or None when unreadable."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listener_pid(port: int) -> int | None:
    """The local process listening on TCP `port`, or None when it cannot be told."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (process / "fd").iterdir()):
                return int(process.name)
        except OSError:
            continue
    return None


class Usage:
    """CPU seconds each named process used inside a `measuring` block."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def per_event_us(self, events: int) -> dict[str, float]:
        return {name: used / events * 1e6 for name, used in self.seconds.items()}


@contextmanager
def measuring(pids: Mapping[str, int | None]) -> Iterator[Usage]:
    usage = Usage()
    before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
    yield usage
    for name, start in before.items():
        pid = pids[name]
        end = None if pid is None else cpu_seconds(pid)
        if start is not None and end is not None:
            usage.seconds[name] = end - start
