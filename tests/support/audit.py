"""`boundbox audit` as the last word of a test that ran the whole stack."""

from __future__ import annotations

import asyncio
import sys


async def audit(env: dict[str, str], *options: str) -> tuple[int, str, str]:
    """Runs `boundbox audit` in `env`: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "boundbox",
        "audit",
        *options,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def assert_state_is_events(env: dict[str, str]) -> str:
    """Fails with the audit's mismatch lines unless it finds state = events; its summary."""
    code, out, err = await audit(env)
    assert code == 0, f"boundbox audit exited {code}:\n{out}{err}"
    *_, summary = out.strip().splitlines()
    assert summary.startswith("audit: state = events ("), out
    return summary
