"""`boundbox token`: an HS256 token from AUTH_SECRET, or one line saying why not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from services.security.scopes import SCOPES
from tests.support.auth import TEST_SECRET


def boundbox_token(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    return subprocess.run(
        [sys.executable, "-m", "boundbox", "token", *args],
        cwd=cwd,  # no stray .env
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prints_a_token_signed_with_auth_secret_for_issuer_and_audience(tmp_path: Path) -> None:
    result = boundbox_token(
        "--sub", "alice", "--scope", "orders:write orders:read", "--ttl", "120",
        cwd=tmp_path, AUTH_SECRET=TEST_SECRET, AUTH_ISSUER="https://id.example",
        AUTH_AUDIENCE="shop",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    claims = jwt.decode(
        line, TEST_SECRET, algorithms=["HS256"], audience="shop", issuer="https://id.example"
    )
    assert claims["sub"] == "alice"
    assert claims["scope"] == "orders:write orders:read"
    assert claims["exp"] - claims["iat"] == 120


def test_scopes_may_be_repeated_and_default_issuer_and_audience_apply(tmp_path: Path) -> None:
    result = boundbox_token(
        "--sub", "ops", "--scope", "metrics:read", "--scope", "sales:read,metrics:read",
        cwd=tmp_path, AUTH_SECRET=TEST_SECRET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(
        result.stdout.strip(), TEST_SECRET, algorithms=["HS256"], audience="boundbox",
        issuer="boundbox",
    )  # fmt: skip
    assert claims["scope"] == "metrics:read sales:read"
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("--sub", "alice", "--scope", "orders:read"),
            {},
            "boundbox: configuration error: AUTH_SECRET is not set: `boundbox token` signs with it",
        ),
        (
            ("--sub", "alice", "--scope", "orders:read"),
            {"AUTH_SECRET": "short"},
            "boundbox: configuration error: AUTH_SECRET: must be at least 32 bytes",
        ),
        (
            ("--sub", "alice", "--scope", "orders:read orders:delete"),
            {"AUTH_SECRET": TEST_SECRET},
            f"boundbox: unknown scope 'orders:delete': choose among {' '.join(SCOPES)}",
        ),
        (
            ("--sub", "alice", "--scope", "orders:read", "--ttl", "0"),
            {"AUTH_SECRET": TEST_SECRET},
            "boundbox: --ttl must be between 1 and 2592000 seconds (30 days)",
        ),
        (
            ("--sub", "alice", "--scope", "orders:read", "--ttl", str(30 * 24 * 3600 + 1)),
            {"AUTH_SECRET": TEST_SECRET},
            "boundbox: --ttl must be between 1 and 2592000 seconds (30 days)",
        ),
        (
            ("--sub", " ", "--scope", "orders:read"),
            {"AUTH_SECRET": TEST_SECRET},
            "boundbox: --sub must not be empty",
        ),
    ],
)
def test_what_cannot_be_minted_is_one_line_and_exit_2(
    args: tuple[str, ...], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = boundbox_token(*args, cwd=tmp_path, **env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")


def test_help_names_the_variables_it_reads(tmp_path: Path) -> None:
    result = boundbox_token("--help", cwd=tmp_path)
    assert result.returncode == 0
    for variable in ("AUTH_SECRET", "AUTH_ISSUER", "AUTH_AUDIENCE"):
        assert variable in result.stdout
