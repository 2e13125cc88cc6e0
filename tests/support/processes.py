"""Start boundbox processes for tests, and wait for conditions with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def interpreter(source: Path | None) -> str:
    """The Python that runs `source` (its `.venv`, when it has one), else this one."""
    if source is not None and (venv := source / ".venv" / "bin" / "python").exists():
        return str(venv)
    return sys.executable


async def eventually[T](
    probe: Callable[[], Awaitable[T]], *, within: float = 10.0, interval: float = 0.02
) -> T:
    """Polls `probe` until it returns something truthy, or fails after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(interval)


@contextlib.contextmanager
def mongodb_under_test() -> Iterator[str]:
    """MONGODB_URL when set (a real replica set), else a fresh in-memory dev database."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    devdb = DevDbProcess().start()
    try:
        yield devdb.url
    finally:
        devdb.stop()


class DevDbProcess:
    """`boundbox devdb` in a child process, ready once it prints its ready line."""

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        args: tuple[str, ...] = (),
        source: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.args = args
        self.source = source
        """A checkout to run instead of this one, with its own `.venv` (benchmarks compare)."""
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> DevDbProcess:
        storage = ["--data-dir", str(self.data_dir)] if self.data_dir else ["--memory"]
        self.process = subprocess.Popen(
            [
                interpreter(self.source),
                "-m",
                "boundbox",
                "devdb",
                "--port",
                str(self.port),
                *storage,
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
            cwd=self.source,  # `python -m` imports from the working directory first
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        output = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "devdb ready" in line:
                return self
        self.kill()
        raise RuntimeError("devdb did not start:\n" + "".join(output))

    def stop(self) -> int:
        """SIGTERM, then wait: a clean shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._close()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


async def stop_supervisor(process: asyncio.subprocess.Process) -> None:
    """Stops a `boundbox dev` left running by a test that failed part-way: SIGINT lets the
    supervisor stop its children; a kill after 30 s if it does not."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(30):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
