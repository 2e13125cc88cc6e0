"""Request ids and W3C trace context: validated here, carried into every event recorded."""

from __future__ import annotations

import re
import uuid

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)


def request_id(value: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one.

    It ends up in logs and message headers: nothing unbounded or unprintable goes there.
    """
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def traceparent(value: str | None) -> str | None:
    """A valid W3C `traceparent` in version-00 form, or None (an invalid one starts no trace).

    Per the spec, a later version is read by its first four fields; `ff` and all-zero ids
    are invalid, and version 00 allows nothing after the flags.
    """
    if value is None:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace, parent, flags, rest = match.group("version", "trace", "parent", "flags", "rest")
    if version == "ff" or (version == "00" and rest) or set(trace) == {"0"} or set(parent) == {"0"}:
        return None
    return f"00-{trace}-{parent}-{flags}"
