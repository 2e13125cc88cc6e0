"""What every aggregate shares: an id and a version that grows with each change."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar

from services.domain.errors import StaleVersionError


@dataclass(slots=True, kw_only=True)
class Aggregate:
    kind: ClassVar[str]

    id: str
    version: int = 1

    def ensure_version(self, accepted: Collection[int] | None) -> None:
        """Optimistic concurrency: refuse when the caller decided on another version.

        `accepted` None means the caller did not say (no `If-Match`): any version will do.
        """
        if accepted is not None and self.version not in accepted:
            raise StaleVersionError(self.kind, self.id, self.version)

    def _changed(self) -> None:
        self.version += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent(ABC):
    """Something that happened to one aggregate; recorded in the outbox as `<type>.<name>`."""

    aggregate_type: ClassVar[str]
    name: ClassVar[str]

    aggregate_id: str

    @abstractmethod
    def payload(self) -> dict[str, Any]:
        """The event's JSON body: what a consumer needs without reading our database."""
