"""Who is calling: the subject of a verified token and the scopes it grants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.security.scopes import SCOPES


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: the token's `sub` and its scopes."""

    sub: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    def missing(self, required: Sequence[str]) -> tuple[str, ...]:
        """The scopes of `required` this principal lacks, in their order."""
        return tuple(scope for scope in required if scope not in self.scopes)


UNCHECKED = Principal(sub="anonymous", scopes=frozenset(SCOPES))
"""The caller when AUTH_MODE=none: every scope, no token looked at."""
