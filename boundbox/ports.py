"""Whether a process can listen where it is configured to, checked before anything starts.

A port in use is one line naming the variable to change, rather than a library's `[Errno 98]`
after some of the processes have started.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Listen:
    """An address a process listens on, and the variable that sets its port."""

    variable: str
    host: str
    port: int


def in_use(host: str, port: int) -> bool:
    """True when `host:port` cannot be bound as the servers bind it (SO_REUSEADDR)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False  # an unresolvable host is the server's own error to report
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return True
    return False


def problem(listens: list[Listen]) -> str | None:
    """The first reason these addresses cannot all be listened on, in one line; None if none."""
    seen: dict[int, str] = {}
    for listen in listens:
        if (other := seen.get(listen.port)) is not None:
            return (
                f"{other} and {listen.variable} are both {listen.port}: "
                f"set {listen.variable} to another port"
            )
        seen[listen.port] = listen.variable
    for listen in listens:
        if in_use(listen.host, listen.port):
            return f"port {listen.port} is in use: set {listen.variable} to a free port"
    return None
