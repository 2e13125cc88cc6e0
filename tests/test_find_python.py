"""`scripts/find-python` accepts any Python >= 3.13, as pyproject.toml's requires-python says."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "find-python"


def interpreter(directory: Path, name: str, version: tuple[int, int]) -> Path:
    """A stand-in `name` on the PATH that reports `version` (runs this interpreter otherwise)."""
    path = directory / name
    fake = f"import sys; sys.version_info = {(*version, 0, 'final', 0)!r}; "
    path.write_text(
        f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} -c "{fake}$2"\n'
        f'exec {sys.executable} "$@"\n'
    )
    path.chmod(0o755)
    return path


def find(path: Path) -> subprocess.CompletedProcess[str]:
    # No pyenv on this PATH: only the stand-ins (and the shell's basics) are there.
    return subprocess.run(
        [str(SCRIPT)],
        env={"PATH": f"{path}:/usr/bin:/bin", "HOME": str(path)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_floor_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.13"


@pytest.mark.parametrize("name", ["python3.13", "python3.14", "python3"])
def test_any_python_from_313_on_is_found(tmp_path: Path, name: str) -> None:
    expected = interpreter(tmp_path, name, (3, 14) if name != "python3.13" else (3, 13))
    found = find(tmp_path)
    assert (found.returncode, found.stdout.strip()) == (0, str(expected)), found.stderr


def test_an_older_python_is_refused_with_one_line(tmp_path: Path) -> None:
    interpreter(tmp_path, "python3", (3, 12))
    found = find(tmp_path)
    if found.returncode == 0:  # the machine's own /usr/bin/python3 may be recent enough
        assert found.stdout.strip() != str(tmp_path / "python3")
        return
    assert found.stdout == ""
    assert found.stderr.startswith("error: boundbox needs Python 3.13 or later")
