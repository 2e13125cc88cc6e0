"""`python -m bench --help` lists the benchmarks without running any; each one's `--help`
describes every option with its default."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, MEASURES

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    # A benchmark takes minutes: within this timeout, only a help text can come back.
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_bench_help_lists_every_benchmark_and_what_it_measures(flag: str) -> None:
    result = bench(flag)
    assert result.returncode == 0, result.stderr
    for name in BENCHMARKS:
        assert MEASURES.get(name), f"no description of {name!r} for `python -m bench --help`"
        assert re.search(rf"^  {name} +\S", result.stdout, re.MULTILINE), result.stdout
    assert "== " not in result.stdout  # no benchmark started


def test_an_unknown_option_runs_nothing() -> None:
    result = bench("--nope")
    assert result.returncode == 2 and "unknown option '--nope'" in result.stderr


def options(help_text: str) -> dict[str, str]:
    """Each option of an argparse help (but --help) and its help text, lines joined."""
    section = help_text.partition("\noptions:\n")[2]
    entries = re.split(r"\n(?=  -)", section.strip("\n"))
    found = {}
    for entry in entries:
        flat = " ".join(entry.split())
        flag = flat.split()[0].rstrip(",")
        if flag not in ("-h", "--help"):
            found[flag] = flat
    return found


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_help_shows_each_option_with_help_and_default(name: str) -> None:
    result = bench(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m bench" in result.stdout
    for flag, text in options(result.stdout).items():
        described = re.sub(rf"^{re.escape(flag)}( [A-Z_]+)?", "", text)
        assert "(default: " in described, f"{name} {flag}: no default shown: {text!r}"
        assert described.split("(default: ")[0].strip(), f"{name} {flag} has no help: {text!r}"
