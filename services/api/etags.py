"""ETags are aggregate versions; `If-Match` names the versions a command may apply to."""

from __future__ import annotations

MAX_DIGITS = 18  # longer is no version of ours, and int() of huge strings is slow


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> frozenset[int] | None:
    """The versions an `If-Match` header accepts; None for "any" (absent, or `*`).

    Weak tags (`W/"3"`) and tags that are not versions of ours never match (RFC 9110 uses
    strong comparison for If-Match), so they lead to 412 rather than to a blind write.
    """
    if value is None:
        return None
    tags = [tag.strip() for tag in value.split(",")]
    if "*" in tags:
        return None
    versions = set()
    for tag in tags:
        digits = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else tag
        if digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS:
            versions.add(int(digits))
    return frozenset(versions)
