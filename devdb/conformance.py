"""Run Beanie's own test suite against a dev database and report how much of it passes."""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PROG = "devdb.conformance"
CLONE_HINT = "git clone https://github.com/BeanieODM/beanie && git -C beanie checkout 00c0f745"
INSTALL_HINT = "`make conformance BEANIE=path/to/beanie` installs them"
DEFAULT_SERVER_CMD: tuple[str, ...] = (sys.executable, "-m", "devdb", "--port", "{port}")
READY_MARK = "devdb ready"
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 30.0
TEST_TIMEOUT = 60
# Import name -> what to install, for everything Beanie's suite imports beyond the stdlib.
SUITE_MODULES = {
    "pytest": "pytest",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_timeout": "pytest-timeout",
    "asgi_lifespan": "asgi-lifespan",
    "httpx": "httpx",
    "fastapi": "fastapi",
    "pydantic_settings": "pydantic-settings",
    "pydantic_extra_types": "pydantic-extra-types",
    "email_validator": "pydantic[email]",
    "time_machine": "time-machine",
    "dns": "dnspython",
    "lazy_model": "lazy-model",
    "click": "click",
    "pymongo": "pymongo",
}
SUMMARY_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
SUMMARY_TIME = re.compile(r" in ([\d.]+)s")

Status = Literal["passed", "failed", "error", "skipped"]
# Junit child element -> status, in order of precedence.
NOT_PASSED: tuple[tuple[str, Status], ...] = (
    ("failure", "failed"),
    ("error", "error"),
    ("skipped", "skipped"),
)
RANK: dict[Status, int] = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}


class UsageError(Exception):
    """A reason the suite cannot run at all, told to the user in one line (exit 2)."""


class RunError(Exception):
    """A reason a started run produced no results (exit 1)."""


@dataclass(frozen=True)
class Options:
    """The command line, typed."""

    checkout: Path
    url: str | None
    server_cmd: tuple[str, ...]
    junit: Path | None
    keyword: str | None
    failures: bool


@dataclass(frozen=True)
class Outcome:
    """One test's result: its pytest id, status and error message (empty when it passed)."""

    test_id: str
    status: Status
    message: str


@dataclass(frozen=True)
class Report:
    """The results of one run of the suite."""

    outcomes: tuple[Outcome, ...]
    counts: collections.Counter[Status]
    seconds: float

    def summary(self) -> str:
        """The totals on one line."""
        c = self.counts
        return (
            f"beanie conformance: {c['passed']} passed, {c['failed']} failed, "
            f"{c['error']} errors, {c['skipped']} skipped ({c.total()} tests) "
            f"in {self.seconds:.0f} s"
        )


def parse_junit(text: str) -> Report:
    """Reads a pytest junit xml document into a report."""
    root = ET.fromstring(text)
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    outcomes = _one_per_test(_outcome(case) for suite in suites for case in suite.iter("testcase"))
    seconds = sum(float(suite.get("time") or 0) for suite in suites)
    return Report(outcomes, collections.Counter(o.status for o in outcomes), seconds)


def _one_per_test(outcomes: Iterable[Outcome]) -> tuple[Outcome, ...]:
    """The worst outcome of each test: pytest writes a second testcase for a teardown error."""
    worst: dict[str, Outcome] = {}
    for outcome in outcomes:
        seen = worst.get(outcome.test_id)
        if seen is None or RANK[outcome.status] < RANK[seen.status]:
            worst[outcome.test_id] = outcome
    return tuple(worst.values())


def _outcome(case: ET.Element) -> Outcome:
    """One junit testcase as an outcome; a failure outranks an error, which outranks a skip."""
    for tag, status in NOT_PASSED:
        child = case.find(tag)
        if child is not None:
            return Outcome(_test_id(case), status, _message(child))
    return Outcome(_test_id(case), "passed", "")


def _message(child: ET.Element) -> str:
    """The message of a failure, error or skip element, else its text."""
    return (child.get("message") or child.text or "").strip()


def _test_id(case: ET.Element) -> str:
    """The pytest node id of a testcase, exact when the xml names its file (xunit1)."""
    name, classname, file = case.get("name", ""), case.get("classname", ""), case.get("file")
    if not file:
        return f"{classname}::{name}" if classname else name
    if not classname:  # a collection error: the name is the module's dotted path
        return file
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname.removeprefix(module).strip(".")
    return "::".join([file, *classes.split(".")] if classes else [file]) + f"::{name}"


def parse_terminal_summary(lines: Iterable[str]) -> Report | None:
    """Totals from pytest's last summary line, for a run that wrote no junit xml."""
    for line in reversed(list(lines)):
        found = SUMMARY_COUNT.findall(line)
        if found and (took := SUMMARY_TIME.search(line)):
            counts: collections.Counter[Status] = collections.Counter()
            for number, word in found:
                counts[_summary_status(word)] += int(number)
            return Report((), counts, float(took.group(1)))
    return None


def _summary_status(word: str) -> Status:
    """The status a word of pytest's summary line counts towards."""
    statuses: dict[str, Status] = {"failed": "failed", "error": "error", "errors": "error"}
    return statuses.get(word, "skipped" if word in ("skipped", "xfailed") else "passed")


def failure_groups(outcomes: Iterable[Outcome]) -> list[tuple[str, list[str]]]:
    """Failed and erroring test ids grouped by their message's first line, biggest group first."""
    groups: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.status in ("failed", "error"):
            groups.setdefault(first_lines(outcome.message, 1), []).append(outcome.test_id)
    return sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))


def first_lines(message: str, count: int) -> str:
    """The first `count` non-blank lines of a message."""
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    return "\n".join(lines[:count]) or "(no message)"


def format_failures(report: Report) -> str:
    """The failing test ids grouped by cause, for --failures."""
    if not report.outcomes:
        return "(no junit xml: failing test ids are unknown)"
    blocks = [
        f"[{len(ids)}] {cause}\n" + "\n".join(f"    {test_id}" for test_id in ids)
        for cause, ids in failure_groups(report.outcomes)
    ]
    return "\n".join(blocks) or "(no failures)"


def checkout_problem(checkout: Path) -> str | None:
    """Why `checkout` is not a Beanie checkout, or None when it is one."""
    missing = [
        p for p in ("beanie/__init__.py", "tests/conftest.py") if not (checkout / p).is_file()
    ]
    if not missing:
        return None
    return f"{checkout} is not a Beanie checkout (no {missing[0]}); get one with: {CLONE_HINT}"


def dependency_problem() -> str | None:
    """Which of the suite's dependencies are missing from this interpreter, or None."""
    missing = sorted({dist for module, dist in SUITE_MODULES.items() if not _importable(module)})
    if not missing:
        return None
    return f"Beanie's test dependencies are missing ({', '.join(missing)}); {INSTALL_HINT}"


def _importable(module: str) -> bool:
    """Whether this interpreter can import a top-level module."""
    return importlib.util.find_spec(module) is not None


def beanie_dsn(url: str) -> str:
    """The URL with Beanie's database as its path, and nothing after it when it can be.

    Beanie's `test_init_connection_string` reads the database name as all that follows the
    last `/`; the dev database is a replica set to drivers, so it needs no `directConnection`.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.pop("directConnection", None)
    return urlunsplit((parts.scheme, parts.netloc, "/beanie_db", urlencode(query), ""))


def server_command(text: str | None) -> tuple[str, ...]:
    """The server command from --server-cmd; a leading option means this Python runs it."""
    if text is None:
        return DEFAULT_SERVER_CMD
    parts = shlex.split(text)
    if parts and parts[0].startswith("-"):
        parts.insert(0, sys.executable)
    if not any("{port}" in part for part in parts):
        raise UsageError(f"--server-cmd must contain {{port}}: {text!r}")
    return tuple(parts)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OutputDrain:
    """Reads a child's output in a thread, keeping its tail and noticing the ready line."""

    def __init__(self, stream: IO[str]) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[str]) -> None:
        """Consumes the stream until the child closes it."""
        with stream:
            for line in stream:
                self.tail.append(line.rstrip())
                if READY_MARK in line:
                    self.ready.set()

    def join(self) -> None:
        """Waits briefly for the rest of the output."""
        self._thread.join(timeout=5)


@contextlib.contextmanager
def dev_database(command: Sequence[str]) -> Iterator[str]:
    """A fresh server from `command` on a free port, yielding its URL and stopped afterwards."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    try:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as exc:
        raise RunError(f"cannot start the server {shlex.join(argv)}: {exc}") from exc
    assert process.stdout is not None
    output = OutputDrain(process.stdout)
    try:
        _await_ready(process, output, argv)
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        _stop(process)
        output.join()


def _await_ready(process: subprocess.Popen[str], output: OutputDrain, argv: list[str]) -> None:
    """Returns once the server printed its ready line; raises when it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not output.ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            output.join()
            exited = process.poll() is not None
            how = f"exited with {process.returncode}" if exited else "was silent too long"
            tail = "\n".join(output.tail)
            raise RunError(f"the server {shlex.join(argv)} {how} before '{READY_MARK}':\n{tail}")


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, wait, and kill only a server that does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"{PROG}: the server ignored SIGTERM; killing it", file=sys.stderr)
            process.kill()
            process.wait()


def pytest_command(junit: Path, keyword: str | None) -> list[str]:
    """The pytest invocation of the baseline, writing an xunit1 junit xml (which names files)."""
    # Beanie's addopts has --cov: turn coverage off, or drop addopts when pytest-cov is absent.
    coverage = ["--no-cov"] if _importable("pytest_cov") else ["-o", "addopts="]
    command = [sys.executable, "-m", "pytest", f"--timeout={TEST_TIMEOUT}"]
    command += ["-p", "no:cacheprovider", *coverage, "-q", "--tb=no"]
    command += [f"--junitxml={junit}", "-o", "junit_family=xunit1"]
    return command + (["-k", keyword] if keyword else [])


def checkout_version(checkout: Path) -> str | None:
    """The checkout's beanie.__version__, read without importing it."""
    source = (checkout / "beanie" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)", source, re.MULTILINE)
    return found.group(1) if found else None


def write_checkout_metadata(checkout: Path, directory: Path) -> None:
    """A beanie dist-info naming the checkout's version, so importlib.metadata agrees with it."""
    # Beanie reports importlib.metadata.version("beanie") to the driver and its tests compare
    # that with beanie.__version__: without this, an installed beanie's version would leak in.
    if version := checkout_version(checkout):
        info = directory / f"beanie-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        metadata = f"Metadata-Version: 2.1\nName: beanie\nVersion: {version}\n"
        (info / "METADATA").write_text(metadata, encoding="utf-8")


def suite_environment(checkout: Path, metadata: Path, dsn: str) -> dict[str, str]:
    """The environment for the suite: the checkout's beanie first on the path, and the DSN."""
    paths = (str(checkout), str(metadata), os.environ.get("PYTHONPATH"))
    path = os.pathsep.join(p for p in paths if p)
    return {**os.environ, "PYTHONPATH": path, "MONGODB_DSN": dsn, "PYTHONUNBUFFERED": "1"}


def run_suite(options: Options, url: str, workdir: Path) -> Report:
    """Runs the suite against `url`, echoing pytest's output to stderr, and reads the results."""
    junit = options.junit or workdir / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    write_checkout_metadata(options.checkout, workdir)
    command = pytest_command(junit, options.keyword)
    env = suite_environment(options.checkout, workdir, beanie_dsn(url))
    tail: collections.deque[str] = collections.deque(maxlen=50)
    pipe, merged = subprocess.PIPE, subprocess.STDOUT
    with subprocess.Popen(
        command, cwd=options.checkout, env=env, stdout=pipe, stderr=merged, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stderr.write(line)
            tail.append(line)
    if junit.is_file() and junit.stat().st_size:
        return parse_junit(junit.read_text(encoding="utf-8"))
    if report := parse_terminal_summary(tail):
        return report
    raise RunError(f"pytest exited with {process.returncode} and reported no results (above)")


def run(options: Options) -> Report:
    """Runs the suite against --url, or against a fresh server started for it."""
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        if options.url:
            print(f"{PROG}: testing the server at {options.url}", file=sys.stderr)
            return run_suite(options, options.url, Path(tmp))
        with dev_database(options.server_cmd) as url:
            print(f"{PROG}: testing a fresh server at {url}", file=sys.stderr)
            return run_suite(options, url, Path(tmp))


def parse_options(argv: Sequence[str] | None) -> Options:
    """The command line as options, raising UsageError for a checkout that cannot run."""
    args = _parser().parse_args(argv)
    checkout = Path(args.path).resolve()
    if problem := checkout_problem(checkout) or dependency_problem():
        raise UsageError(problem)
    junit = Path(args.junit).resolve() if args.junit else None
    server_cmd = server_command(args.server_cmd)
    return Options(checkout, args.url, server_cmd, junit, args.k, args.failures)


def _parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROG}",
        description="Run Beanie's test suite against a fresh dev database and print the totals.",
        epilog=f"Get the Beanie checkout of the baseline with: {CLONE_HINT}",
    )
    parser.add_argument("path", metavar="PATH", help="a Beanie checkout")
    parser.add_argument("--url", help="test this running server instead of starting one")
    parser.add_argument(
        "--server-cmd",
        metavar="CMD",
        help="the server command, {port} filled in, printing 'devdb ready' once it serves; "
        "a leading option such as '-m boundbox devdb --memory --port {port}' runs with this "
        "Python (default: python -m devdb --port {port})",
    )
    parser.add_argument("--junit", metavar="FILE", help="also keep the junit xml here")
    parser.add_argument("-k", metavar="EXPR", help="only the tests matching this expression")
    parser.add_argument("--failures", action="store_true", help="list failing tests by cause")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when the suite ran, 1 when it produced no results, 2 when it cannot run."""
    try:
        options = parse_options(argv)
        print(f"{PROG}: running Beanie's suite at {options.checkout}", file=sys.stderr)
        report = run(options)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except RunError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print(report.summary())
    if options.failures:
        print(format_failures(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
