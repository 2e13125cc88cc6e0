"""Configuration errors are one line naming the variable, for every command; every command's
`--help` lists the variables it reads with their defaults; the archive follows the namespace."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from boundbox.cli import app
from boundbox.envhelp import COMMAND_FIELDS, default_of
from boundbox.errors import ConfigurationError
from boundbox.settings import Settings, load_settings
from relay import admin
from relay.errors import DatabaseUnavailableError
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3tpass"

COMMANDS = {
    "api": ["api"],
    "relay": ["relay"],
    "consume": ["consume", "sales"],
    "dev": ["dev"],
    "outbox status": ["outbox", "status"],
    "outbox retry-failed": ["outbox", "retry-failed"],
    "audit": ["audit"],
    "archive migrate": ["archive", "migrate"],
    "devdb": ["devdb"],
    "asyncapi": ["asyncapi"],
    "token": ["token", "--sub", "alice", "--scope", "orders:read"],
}

BAD_MONGODB_URLS = [
    f"mongodb://user:{SECRET}@ss@host",
    "mongodb://127.0.0.1:notaport",
    "mongodb://",
    f"mongodb://user:{SECRET}@127.0.0.1:99999",
    "mongodb+srv://cluster.example.com:27017",
]
BAD_AMQP_URLS = [
    f"amqp://user:{SECRET}@ss@host/",
    f"amqp://user:{SECRET}@host:notaport/",
    "amqp://",
    "amqps:///vhost",
]


def boundbox(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boundbox", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_configuration_line(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"boundbox: configuration error: {variable}: "), lines[0]
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_mongodb_url_is_one_line_for_every_command(command: str) -> None:
    result = boundbox(*COMMANDS[command], MONGODB_URL=f"mongodb://user:{SECRET}@ss@host")
    assert_one_configuration_line(result, "MONGODB_URL")


@pytest.mark.parametrize("url", [*BAD_MONGODB_URLS[1:3], BAD_AMQP_URLS[0]])
def test_other_malformed_urls_are_one_line(url: str) -> None:
    variable = "MONGODB_URL" if url.startswith("mongodb") else "AMQP_URL"
    assert_one_configuration_line(boundbox("outbox", "status", **{variable: url}), variable)


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        *(("MONGODB_URL", url) for url in BAD_MONGODB_URLS),
        *(("AMQP_URL", url) for url in BAD_AMQP_URLS),
        *(("RELAY_AMQP_URL", url) for url in BAD_AMQP_URLS),
        *(("CONSUMER_AMQP_URL", url) for url in BAD_AMQP_URLS),
    ],
)
def test_settings_refuse_malformed_urls_naming_the_variable(
    variable: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, url)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{variable}: ") and SECRET not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "mongodb://127.0.0.1:27017",
        "mongodb://u:p%40ss@h1:27017,h2:27018/db?replicaSet=rs0&authSource=admin",
        "mongodb+srv://u:p@cluster.example.com/db?retryWrites=true",
    ],
)
def test_settings_accept_valid_mongodb_urls(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URL", url)
    assert load_settings().mongodb_url == url


def help_text(command: str) -> str:
    result = CliRunner().invoke(app, [*COMMANDS[command], "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_lists_its_variables_with_defaults(command: str) -> None:
    text = help_text(command).partition("Environment variables (or .env)")[2]
    assert "LOG_LEVEL" in text
    for field in COMMAND_FIELDS[command]:
        row = re.search(rf"^\s*{field.upper()} +(\S.*?)\s*$", text, re.MULTILINE)
        assert row is not None, f"{command} --help does not name {field.upper()}"
        if command != "dev" or field not in ("mongodb_url", "archive_queue"):
            assert row.group(1) == default_of(field)
    assert "guest:guest" not in text


# The Settings fields each command's code reads, found in its source: the help lists them all.
SOURCES = {
    "api": ["services/api", "services/security"],
    "relay": ["relay"],
    "consume": ["services/sales", "services/security"],
    "audit": ["boundbox/audit.py"],
    "asyncapi": ["services/api/asyncapi.py"],
}
PROPERTIES = {
    "relay_broker_url": ("relay_amqp_url", "amqp_url"),
    "consumer_broker_url": ("consumer_amqp_url", "amqp_url"),
    "trusted_publisher_users": ("trusted_publishers", "relay_amqp_url", "amqp_url"),
    "namespaced_archive_queue": ("consumer_queue_prefix", "exchange_name"),
}


def fields_read(paths: list[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        root = ROOT / path
        for file in [root] if root.is_file() else root.rglob("*.py"):
            for name in re.findall(r"\b(?:settings|config)\.([a-z_]+)\b", file.read_text()):
                if name in Settings.model_fields:
                    found.add(name)
                found.update(PROPERTIES.get(name, ()))
    return found


@pytest.mark.parametrize("command", SOURCES)
def test_the_variable_lists_cover_what_the_code_reads(command: str) -> None:
    missing = fields_read(SOURCES[command]) - set(COMMAND_FIELDS[command]) - {"log_level"}
    assert not missing, f"`boundbox {command} --help` misses {sorted(missing)}"
    assert set(COMMAND_FIELDS[command]) <= set(COMMAND_FIELDS["dev"]) | {"sales_db"}


async def test_outbox_status_fails_fast_on_an_unreachable_database() -> None:
    settings = Settings(_env_file=None, mongodb_url=f"mongodb://127.0.0.1:{free_port()}")  # type: ignore[call-arg]
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError):
        await admin.outbox_status(settings)
    assert time.monotonic() - started < 2.5  # was RELAY_DB_TIMEOUT (5 s) and more


def test_outbox_status_with_no_database_hints_at_the_dev_database() -> None:
    result = boundbox("outbox", "status", MONGODB_URL=f"mongodb://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "is the dev database running? `make run`" in lines[0] and "MONGODB_URL" in lines[0]


@pytest.mark.parametrize(
    ("env", "archive"),
    [
        ({}, "boundbox.archive"),
        ({"CONSUMER_QUEUE_PREFIX": "alice"}, "alice.archive"),
        ({"EXCHANGE_NAME": "bob.events"}, "bob.events.archive"),
        ({"EXCHANGE_NAME": "bob.events", "CONSUMER_QUEUE_PREFIX": "bob"}, "bob.archive"),
    ],
)
def test_the_dev_archive_follows_the_namespace(
    env: dict[str, str], archive: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CONSUMER_QUEUE_PREFIX", "EXCHANGE_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).namespaced_archive_queue == archive  # type: ignore[call-arg]


def test_boundbox_dev_sets_the_namespaced_archive() -> None:
    source = (ROOT / "boundbox/supervisor.py").read_text()
    assert 'setdefault("ARCHIVE_QUEUE", settings.namespaced_archive_queue)' in source


def test_a_consumer_batch_over_the_prefetch_is_one_line() -> None:
    result = boundbox(*COMMANDS["consume"], CONSUMER_PREFETCH="8", CONSUMER_BATCH="9")
    assert_one_configuration_line(result, "CONSUMER_BATCH")
    assert "CONSUMER_PREFETCH (8)" in result.stderr


def test_an_ordered_heartbeat_not_shorter_than_the_member_expiry_is_one_line() -> None:
    result = boundbox(
        *COMMANDS["consume"], CONSUMER_HEARTBEAT_SECONDS="10", CONSUMER_MEMBER_EXPIRY_SECONDS="10"
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "CONSUMER_HEARTBEAT_SECONDS must be shorter than CONSUMER_MEMBER_EXPIRY_SECONDS" in line


@pytest.mark.parametrize(("batch", "accepted"), [("1", True), ("32", True), ("0", False)])
def test_consumer_batch_is_1_to_the_prefetch(
    batch: str, accepted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSUMER_PREFETCH", "32")
    monkeypatch.setenv("CONSUMER_BATCH", batch)
    if accepted:
        assert load_settings().consumer_batch == int(batch)
    else:
        with pytest.raises(ConfigurationError, match=r"^CONSUMER_BATCH: "):
            load_settings()


@pytest.mark.parametrize("command", ["api", "consume"])
def test_a_malformed_jwks_url_is_one_line(command: str) -> None:
    result = boundbox(
        *COMMANDS[command],
        AUTH_MODE="jwt",
        AUTH_SECRET="",
        AUTH_PUBLIC_KEY="",
        AUTH_JWKS_URL="https://keys.example.com:port/jwks.json",
    )
    assert_one_configuration_line(result, "AUTH_JWKS_URL")
