"""A port in use: one line naming the variable to change, exit 2, nothing started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from boundbox.ports import Listen, in_use, problem
from tests.support.processes import free_port

VARIABLES = ("DEVDB_PORT", "API_PORT", "RELAY_PORT", "CONSUMER_PORT")


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something listens on for the length of the test."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def environment(**ports: int) -> dict[str, str]:
    """Free ports for every service, some replaced by `ports`; nothing from the caller's
    MongoDB, broker or auth settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MONGODB_"))}
    env.update({variable: str(free_port()) for variable in VARIABLES})
    env.update({variable: str(port) for variable, port in ports.items()})
    env.update({"AUTH_MODE": "none", "LOG_LEVEL": "WARNING"})
    return env


def boundbox(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boundbox", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_listened_port_is_in_use_and_a_free_one_is_not(taken: int) -> None:
    assert in_use("127.0.0.1", taken)
    assert not in_use("127.0.0.1", free_port())


def test_two_services_on_one_port_name_both_variables() -> None:
    port = free_port()
    clash = [Listen("API_PORT", "127.0.0.1", port), Listen("RELAY_PORT", "127.0.0.1", port)]
    assert problem(clash) == (
        f"API_PORT and RELAY_PORT are both {port}: set RELAY_PORT to another port"
    )


@pytest.mark.parametrize("variable", VARIABLES)
def test_boundbox_dev_checks_every_port_before_starting_anything(
    tmp_path: Path, taken: int, variable: str
) -> None:
    done = boundbox("dev", env=environment(**{variable: taken}), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (f"boundbox dev: port {taken} is in use: set {variable} to a free port\n")
    assert done.stdout == ""  # no banner, no child's output: nothing started
    assert not (tmp_path / ".data").exists()


@pytest.mark.parametrize(
    ("command", "variable"),
    [(["api"], "API_PORT"), (["relay"], "RELAY_PORT"), (["consume", "sales"], "CONSUMER_PORT")],
)
def test_a_service_whose_port_is_taken_names_its_variable(
    tmp_path: Path, taken: int, command: list[str], variable: str
) -> None:
    done = boundbox(*command, env=environment(**{variable: taken}), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == f"boundbox: port {taken} is in use: set {variable} to a free port\n"
