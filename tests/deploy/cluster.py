"""docker-compose.yml's cluster profile, read: its services, what they depend on and mount."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.test_compose import ROOT, _compose, _service

PROFILE = "cluster"
MONGO_MEMBERS = ("mongo-1", "mongo-2", "mongo-3")
BROKER_NODES = ("rabbitmq-1", "rabbitmq-2", "rabbitmq-3")
API_REPLICAS = ("api-1", "api-2")
RELAYS = ("relay-1", "relay-2")
CONSUMERS = ("consumer-1", "consumer-2")
PROXY = "proxy"
APPLICATION = (*API_REPLICAS, *RELAYS, *CONSUMERS)
CLUSTER = (*MONGO_MEMBERS, *BROKER_NODES, *APPLICATION, PROXY)
# The default profile, as `docker compose up` starts it, with the ports it publishes.
DEFAULT_PORTS = {
    "mongo": ["127.0.0.1:27017:27017"],
    "rabbitmq": ["127.0.0.1:5672:5672", "127.0.0.1:15672:15672"],
    "api": ["127.0.0.1:8000:8000"],
    "relay": [],
    "consumer": [],
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|COOKIE")
SUBSTITUTED = re.compile(r"^\$\{\w+(:[?-][^}]*)?\}$")


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = _compose()["services"]
    return found


def depends_on(name: str) -> dict[str, str]:
    """A service's dependencies and their conditions (the short form means service_started)."""
    declared = _service(name).get("depends_on") or {}
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {dep: (spec or {}).get("condition", "service_started") for dep, spec in declared.items()}


def closure(names: Iterable[str]) -> set[str]:
    """The services `docker compose up NAMES` starts: them and their dependencies."""
    started: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in started:
            started.add(name)
            pending.extend(depends_on(name))
    return started


def mounted(service: str, target: str) -> Path:
    """The file or folder of this repository that `service` mounts at `target`."""
    for volume in _service(service).get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target and source.startswith("./"):
            return ROOT / source
    raise AssertionError(f"{service} mounts nothing of the repository at {target}")


def mounts(service: str) -> dict[str, str]:
    """What a service mounts: target -> source (a named volume or a path)."""
    pairs = (str(volume).split(":") for volume in _service(service).get("volumes") or [])
    return {parts[1]: parts[0] for parts in pairs}
