"""The configuration files compose mounts, read as their programs read them (what a test needs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_ERLANG_ATOM_LIST = re.compile(r"^\[\s*([a-z][a-z0-9_]*(\s*,\s*[a-z][a-z0-9_]*)*)?\s*\]\s*\.\s*$")


@dataclass
class Section:
    """One section of an HAProxy configuration: `kind name`, then its directives."""

    kind: str
    name: str
    directives: list[list[str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[list[str]]:
        """The arguments of every directive that starts with `keyword` (one or two words)."""
        words = keyword.split()
        return [d[len(words) :] for d in self.directives if d[: len(words)] == words]


def haproxy_sections(path: Path) -> dict[tuple[str, str], Section]:
    """HAProxy's sections by (kind, name): a section starts unindented, directives are indented."""
    sections: dict[tuple[str, str], Section] = {}
    current: Section | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        words = line.split()
        if not raw[0].isspace():
            kind, name = words[0], " ".join(words[1:])
            assert (kind, name) not in sections, f"{path.name}:{number}: {kind} {name} twice"
            current = sections[kind, name] = Section(kind, name)
        else:
            assert current is not None, f"{path.name}:{number}: a directive outside any section"
            current.directives.append(words)
    return sections


def rabbitmq_conf(path: Path) -> dict[str, str]:
    """A rabbitmq.conf (sysctl format): `key = value` a line, `#` comments; no key twice."""
    settings: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        assert sep and key and value, f"{path.name}:{number}: not `key = value`: {raw!r}"
        assert re.fullmatch(r"[a-z0-9_.$]+", key), f"{path.name}:{number}: bad key {key!r}"
        assert key not in settings, f"{path.name}:{number}: {key} set twice"
        settings[key] = value
    return settings


def enabled_plugins(path: Path) -> list[str]:
    """RabbitMQ's enabled_plugins file: one Erlang list of plugin names, ended by a full stop."""
    text = path.read_text(encoding="utf-8")
    match = _ERLANG_ATOM_LIST.match(text)
    assert match, f"{path.name} is not an Erlang list of plugin names ending in '.': {text!r}"
    inner = text.strip().removesuffix(".").strip().strip("[]")
    return [name.strip() for name in inner.split(",") if name.strip()]
