"""docker-compose.yml for production: authentication everywhere, least privilege, no secrets.

Parsed, not run (Docker cannot run where this suite runs): each property is checked against the
files compose mounts (deploy/) and the settings our services read, with .env.example as the .env.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from boundbox.settings import broker_user
from tests.deploy.definitions import ADMIN, RELAY, SALES, permissions, users
from tests.test_compose import (
    COMPOSE_FILE,
    OUR_SERVICES,
    ROOT,
    _argv,
    _compose,
    _service,
    env_example,
    raw_environment,
    settings_of,
)

SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY")
SUBSTITUTED = re.compile(r"^\$\{\w+(:[?-][^}]*)?\}$")


def _default_services() -> dict[str, dict[str, Any]]:
    """The services `docker compose up` starts: those without a profile."""
    return {name: s for name, s in _compose()["services"].items() if not s.get("profiles")}


def _mounted(service: str, target: str) -> Path:
    """The file or folder of this repository that `service` mounts at `target`."""
    for volume in _service(service).get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target and source.startswith("./"):
            return ROOT / source
    raise AssertionError(f"{service} mounts nothing of the repository at {target}")


def test_mongo_requires_authentication_and_a_replica_set_keyfile() -> None:
    command = _argv(_service("mongo")["command"])
    assert "--auth" in command, f"mongod must run with --auth: {command}"
    assert "--keyFile" in command, f"mongod must run with --keyFile: {command}"
    keyfile = command[command.index("--keyFile") + 1]
    entrypoint = _argv(_service("mongo")["entrypoint"])
    script = _mounted("mongo", str(Path(entrypoint[0]).parent)) / Path(entrypoint[0]).name
    text = script.read_text(encoding="utf-8")
    assert f"key={keyfile}" in text, f"{script.name} must write the keyfile mongod reads"
    assert "chmod 400" in text, "the keyfile must be readable by mongod's user alone"
    assert "MONGO_REPLICA_SET_KEY" in text


def test_the_mongo_root_user_comes_from_the_env_file() -> None:
    environment = raw_environment("mongo")
    for variable in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"):
        assert SUBSTITUTED.match(environment.get(variable) or ""), (
            f"mongo: {variable} must come from .env (${{{variable}:?...}})"
        )


def test_the_application_user_may_read_and_write_boundbox_databases_only() -> None:
    script = _mounted("mongo", "/docker-entrypoint-initdb.d/10-app-user.js").read_text()
    roles = re.findall(r"\{\s*role:\s*\"(\w+)\",\s*db:\s*\"(\w+)\"\s*\}", script)
    used = {
        database
        for service in OUR_SERVICES
        for database in (settings_of(service).mongodb_db, settings_of(service).sales_db)
    }
    assert sorted(roles) == sorted(("readWrite", database) for database in used), (
        f"the application user must have readWrite on {sorted(used)} and nothing else: {roles}"
    )
    for service in OUR_SERVICES:
        user = urlsplit(settings_of(service).mongodb_url).username
        assert user == env_example()["MONGO_APP_USERNAME"], (
            f"{service} must connect as the application user, not {user!r}"
        )


def test_test_commands_only_in_the_test_profile() -> None:
    for name, service in _compose()["services"].items():
        mentions = "enableTestCommands" in repr(service)
        if mentions:
            assert service.get("profiles") == ["test"], (
                f"{name} enables MongoDB's test commands outside the `test` profile"
            )
    assert any("enableTestCommands=1" in repr(s) for s in _compose()["services"].values()), (
        "the `test` profile must keep a MongoDB with test commands for the failpoint tests"
    )


def test_no_guest_anywhere() -> None:
    """RabbitMQ seeds no guest when definitions load at boot; none of ours is, or uses, guest."""
    assert "guest" not in repr(_compose()).lower()
    assert not any(name.lower() == "guest" for name in users())
    conf = _mounted("rabbitmq", "/etc/rabbitmq/conf.d/20-boundbox.conf").read_text()
    loaded = re.search(r"^load_definitions\s*=\s*(\S+)$", conf, re.MULTILINE)
    assert loaded, "rabbitmq.conf must load the definitions at boot"
    entrypoint = _argv(_service("rabbitmq")["entrypoint"])[0]
    script = _mounted("rabbitmq", str(Path(entrypoint).parent)) / Path(entrypoint).name
    assert f"rendered={loaded.group(1)}" in script.read_text(), (
        f"{script.name} must render the definitions where rabbitmq.conf loads them"
    )


@pytest.mark.parametrize("service", sorted(_default_services()))
def test_secrets_are_substituted_from_the_env_file(service: str) -> None:
    for variable, value in raw_environment(service).items():
        if SECRET_NAME.search(variable):
            assert SUBSTITUTED.match(value or ""), f"{service}: {variable} is a literal: {value!r}"
        password = urlsplit(value or "").password if "://" in (value or "") else None
        if password is not None:
            assert SUBSTITUTED.match(password), f"{service}: {variable} holds a literal password"


def test_every_needed_variable_is_in_env_example_with_a_placeholder() -> None:
    needed = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text(encoding="utf-8")))
    missing = needed - set(env_example())
    assert not missing, f".env.example lacks {sorted(missing)}"
    for variable, value in env_example().items():
        if SECRET_NAME.search(variable) and value:
            assert value.startswith("replace-me"), f".env.example: {variable} looks real"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored, ".env must be ignored by git"


def test_each_process_has_its_own_broker_user() -> None:
    assert not {"AMQP_URL", "RELAY_AMQP_URL", "CONSUMER_AMQP_URL"} & set(raw_environment("api"))
    relay = broker_user(settings_of("relay").relay_broker_url)
    sales = broker_user(settings_of("consumer").consumer_broker_url)
    assert (relay, sales) == (RELAY, SALES), "relay and consumer must log in as their own users"
    assert settings_of("consumer").trusted_publisher_users == {RELAY}
    assert set(users()) == {ADMIN, RELAY, SALES}
    assert users()[ADMIN]["tags"] == ["administrator"]
    assert all(users()[name]["tags"] == [] for name in (RELAY, SALES))


def test_broker_permissions_fit_the_names_the_services_use() -> None:
    relay, consumer = settings_of("relay"), settings_of("consumer")
    exchange, archive = relay.exchange_name, relay.archive_queue
    assert consumer.exchange_name == exchange
    queue = f"{consumer.consumer_queue_prefix}.sales"
    own = (queue, f"{queue}.dlx", f"{queue}.dlq")

    may = permissions(RELAY)
    assert all(may.allows(kind, exchange) for kind in ("configure", "write", "read"))
    assert all(may.allows(kind, archive) for kind in ("configure", "write"))
    assert not any(may.allows("read", name) for name in (archive, *own))
    assert not any(may.allows(kind, name) for kind in ("configure", "write") for name in own)

    may = permissions(SALES)
    assert all(may.allows(kind, name) for kind in ("configure", "write") for name in own)
    assert may.allows("read", queue) and may.allows("read", f"{queue}.dlx")
    assert may.allows("read", exchange), "binding its queue needs read on the exchange"
    assert not may.allows("write", exchange), "the consumer must not publish events"
    assert not may.allows("configure", exchange)
    assert not may.allows("read", archive)


AUTHENTICATED = ("api", "consumer")  # the API and the sales consumer's read API
KEY_VARIABLES = ("AUTH_SECRET", "AUTH_PUBLIC_KEY", "AUTH_JWKS_URL")


@pytest.mark.parametrize("service", AUTHENTICATED)
def test_the_api_and_the_consumer_verify_bearer_tokens_with_one_key(service: str) -> None:
    assert raw_environment(service).get("AUTH_MODE") == "jwt", (
        f"{service}: AUTH_MODE must be stated, and jwt"
    )
    settings = settings_of(service)
    assert settings.auth_mode == "jwt"
    keys = {
        "AUTH_SECRET": settings.auth_secret.get_secret_value(),
        "AUTH_PUBLIC_KEY": settings.auth_public_key,
        "AUTH_JWKS_URL": settings.auth_jwks_url,
    }
    assert [name for name, value in keys.items() if value] == ["AUTH_SECRET"], (
        f"{service}: with .env.example, exactly AUTH_SECRET must be set: {sorted(keys)}"
    )


def test_no_token_key_is_committed_and_authentication_is_never_off() -> None:
    for service in AUTHENTICATED:
        for variable in KEY_VARIABLES:
            value = raw_environment(service).get(variable) or ""
            assert SUBSTITUTED.match(value), f"{service}: {variable} must come from .env: {value!r}"
    placeholder = env_example()["AUTH_SECRET"]
    assert placeholder.startswith("replace-me"), ".env.example: AUTH_SECRET looks real"
    assert len(placeholder.encode()) < 32, "the placeholder must be too short to be accepted"
    for path in (COMPOSE_FILE, ROOT / ".env.example", ROOT / "Dockerfile"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"AUTH_MODE\W*none", text, re.IGNORECASE), f"{path.name} turns it off"
