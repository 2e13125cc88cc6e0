"""The event loop boundbox's long-running processes run on."""

from __future__ import annotations

import asyncio
import sys

import pytest

from boundbox import runtime


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_processes_run_on_uvloop_where_it_exists() -> None:
    assert runtime.run(loop_module()).startswith("uvloop")
