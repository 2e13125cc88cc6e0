"""Named sentinels for the fast paths: a marker that prints as its name."""

from __future__ import annotations


class Sentinel:
    """A unique marker value with a readable name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name
