"""MongoDB's `failCommand` failpoint, so fault-injection tests run the same on both servers.

Supported: `configureFailPoint: "failCommand"` with mode `"alwaysOn"`, `"off"`,
`{"times": n}` or `{"skip": n}`, and data `failCommands`, `errorCode`, `errorLabels`,
`closeConnection` and `appName`, as documented for mongod's test commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FailPointError(ValueError):
    """A `configureFailPoint` command this server does not support."""


@dataclass
class FailCommand:
    commands: frozenset[str] = frozenset()
    remaining: int | None = None  # None: always on
    skip: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, command: str, app_name: str | None) -> bool:
        """True when this command must fail now; counts the use."""
        if command not in self.commands:
            return False
        wanted_app = self.data.get("appName")
        if wanted_app is not None and wanted_app != app_name:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "ok": 0,
            "code": int(self.data.get("errorCode", 8)),
            "errmsg": "Failing command via 'failCommand' failpoint",
        }
        if "errorLabels" in self.data:
            reply["errorLabels"] = list(self.data["errorLabels"])
        return reply

    @property
    def closes_connection(self) -> bool:
        return bool(self.data.get("closeConnection", False))


def configure(command: dict[str, Any]) -> FailCommand | None:
    """Builds the failpoint a `configureFailPoint` command asks for (None: turned off)."""
    if command.get("configureFailPoint") != "failCommand":
        raise FailPointError(f"unsupported failpoint {command.get('configureFailPoint')!r}")
    mode = command.get("mode")
    data = dict(command.get("data") or {})
    commands = frozenset(data.get("failCommands") or ())
    if mode == "off":
        return None
    if mode == "alwaysOn":
        return FailCommand(commands=commands, data=data)
    if isinstance(mode, dict) and "times" in mode:
        return FailCommand(commands=commands, remaining=int(mode["times"]), data=data)
    if isinstance(mode, dict) and "skip" in mode:
        return FailCommand(commands=commands, skip=int(mode["skip"]), data=data)
    raise FailPointError(f"unsupported failpoint mode {mode!r}")
