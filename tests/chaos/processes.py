"""One `boundbox` process of a chaos stack: spawned, killed and spawned again, its output kept."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.processes import eventually

READY_WITHIN = 45.0


@dataclass
class Component:
    """`python -m boundbox ARGS` serving HTTP on `url`, ready when `url + ready_path` answers
    200; every run appends to one log file.

    `identity` names the variable (RELAY_ID, CONSUMER_ID) that gets a fresh value per start,
    so the broker's connection list and the relay's leases tell the incarnations apart.
    """

    name: str
    args: tuple[str, ...]
    env: dict[str, str]
    url: str
    ready_path: str
    log_path: Path
    identity: str | None = None
    starts: int = 0
    kills: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def spawn(self, **extra_env: str) -> None:
        assert not self.alive, f"{self.name} is already running"
        self.starts += 1
        env = self.env | extra_env
        if self.identity is not None:
            env[self.identity] = f"{env[self.identity]}-{self.starts}"
        with self.log_path.open("ab") as log:
            log.write(f"--- {self.name} start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "boundbox", *self.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def ready(self, http: httpx.AsyncClient, *, within: float = READY_WITHIN) -> None:
        """Returns once `ready_path` answers 200; fails at once if the process exits."""

        async def up() -> bool:
            if not self.alive:
                assert self.process is not None
                raise AssertionError(f"{self.name} exited with {self.process.returncode}")
            try:
                return (await http.get(self.url + self.ready_path)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, within=within, interval=0.05)

    def kill(self) -> None:
        """SIGKILL: no chance to finish, flush or release anything."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=30)
            self.kills += 1

    def terminate(self) -> int:
        """SIGTERM, then the exit code (a clean stop is 0)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
                raise AssertionError(f"{self.name} ignored SIGTERM for 30 s") from None
        return self.process.returncode

    def output(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
