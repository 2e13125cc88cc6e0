"""The Beanie conformance runner: reading pytest's junit xml, and refusing a non-checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devdb.conformance import beanie_dsn, failure_groups, parse_junit

REPO = Path(__file__).resolve().parents[2]
JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="1" failures="2" skipped="1" tests="6" time="12.6">
    <testcase classname="tests.odm.test_find.TestFind" name="test_sort[desc]"
              file="tests/odm/test_find.py" line="10" time="0.1"/>
    <testcase classname="tests.odm.test_find" name="test_limit"
              file="tests/odm/test_find.py" line="20" time="0.1">
      <failure message="pymongo.errors.OperationFailure: no such command: 'collMod'&#10;more"
        >traceback</failure>
    </testcase>
    <testcase classname="tests.odm.test_views" name="test_view"
              file="tests/odm/test_views.py" line="5" time="0.1">
      <failure message="pymongo.errors.OperationFailure: no such command: 'collMod'"
        >traceback</failure>
    </testcase>
    <testcase classname="tests.odm.test_cache" name="test_ttl"
              file="tests/odm/test_cache.py" line="7" time="0.1">
      <error message="failed on setup with &quot;TimeoutError&quot;">traceback</error>
    </testcase>
    <testcase classname="tests.odm.test_ts" name="test_timeseries"
              file="tests/odm/test_ts.py" line="3" time="0.0">
      <skipped type="pytest.skip" message="needs MongoDB 5">skipped</skipped>
    </testcase>
    <testcase classname="tests.odm.test_ts" name="test_plain"
              file="tests/odm/test_ts.py" line="9" time="0.0"/>
  </testsuite>
</testsuites>
"""


def test_junit_totals_make_the_summary_line() -> None:
    report = parse_junit(JUNIT)

    assert report.summary() == (
        "beanie conformance: 2 passed, 2 failed, 1 errors, 1 skipped (6 tests) in 13 s"
    )


def test_junit_test_ids_are_pytest_node_ids() -> None:
    ids = [outcome.test_id for outcome in parse_junit(JUNIT).outcomes]

    assert ids[:2] == [
        "tests/odm/test_find.py::TestFind::test_sort[desc]",
        "tests/odm/test_find.py::test_limit",
    ]


def test_failures_are_grouped_by_the_first_line_of_their_message() -> None:
    groups = failure_groups(parse_junit(JUNIT).outcomes)

    assert groups == [
        (
            "pymongo.errors.OperationFailure: no such command: 'collMod'",
            ["tests/odm/test_find.py::test_limit", "tests/odm/test_views.py::test_view"],
        ),
        ('failed on setup with "TimeoutError"', ["tests/odm/test_cache.py::test_ttl"]),
    ]


def test_a_failure_with_a_teardown_error_counts_as_one_failed_test() -> None:
    # pytest writes a second testcase, with the same name, for the teardown error.
    junit = """<testsuites><testsuite time="1.0">
      <testcase classname="tests.test_a" name="test_x" file="tests/test_a.py">
        <failure message="assert 1 == 2">traceback</failure>
      </testcase>
      <testcase classname="tests.test_a" name="test_x" file="tests/test_a.py">
        <error message="failed on teardown with &quot;ExceptionGroup&quot;">traceback</error>
      </testcase>
    </testsuite></testsuites>"""

    report = parse_junit(junit)

    assert [(o.test_id, o.status, o.message) for o in report.outcomes] == [
        ("tests/test_a.py::test_x", "failed", "assert 1 == 2")
    ]
    assert report.summary().endswith("1 failed, 0 errors, 0 skipped (1 tests) in 1 s")


def test_the_suite_gets_beanie_db_as_the_last_path_segment() -> None:
    dsn = beanie_dsn("mongodb://127.0.0.1:27018/?appname=x&directConnection=true")

    assert dsn == "mongodb://127.0.0.1:27018/beanie_db?appname=x"


def test_a_directory_that_is_not_a_beanie_checkout_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devdb.conformance", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "is not a Beanie checkout" in result.stderr
    assert "git clone https://github.com/BeanieODM/beanie" in result.stderr
