"""deploy/rabbitmq/definitions.json, read: the broker users compose loads and their permissions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
RELAY = "boundbox-relay"
SALES = "boundbox-sales"
ADMIN = "boundbox-admin"


@dataclass(frozen=True)
class Permissions:
    """One user's regexes on the vhost `/`, as `rabbitmqctl set_permissions` takes them."""

    configure: str
    write: str
    read: str

    def allows(self, kind: str, resource: str) -> bool:
        """What RabbitMQ decides: the regex of `kind` matches the resource's name."""
        return re.search(getattr(self, kind), resource) is not None


@cache
def definitions() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    return loaded


def users() -> dict[str, dict[str, object]]:
    return {str(user["name"]): user for user in definitions()["users"]}  # type: ignore[attr-defined]


def permissions(user: str) -> Permissions:
    [found] = [
        entry
        for entry in definitions()["permissions"]  # type: ignore[attr-defined]
        if entry["user"] == user and entry["vhost"] == "/"
    ]
    return Permissions(found["configure"], found["write"], found["read"])
