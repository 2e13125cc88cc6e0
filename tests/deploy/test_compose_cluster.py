"""docker-compose.yml's `cluster` profile: which services make the cluster, and how they meet.

Parsed, not run (Docker cannot run where this suite runs), with .env.example as the .env: a
replica set of three members, a RabbitMQ cluster of three nodes, two api replicas behind the
proxy, two relays and two sales consumers in ordered mode; the default profile as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pymongo import uri_parser

from boundbox.settings import Settings
from tests.deploy.cluster import (
    APPLICATION,
    CLUSTER,
    DEFAULT_PORTS,
    MONGO_MEMBERS,
    PROFILE,
    closure,
    depends_on,
    mounted,
    mounts,
    services,
)
from tests.test_compose import (
    COMPOSE_FILE,
    ROOT,
    _argv,
    _healthcheck_argv,
    _service,
    env_example,
    raw_environment,
    settings_of,
)

# --- profiles: the cluster apart, the default as it was ------------------------------


def test_the_cluster_profile_holds_the_cluster_and_only_it() -> None:
    profiled = {name for name, s in services().items() if PROFILE in (s.get("profiles") or [])}
    assert profiled == set(CLUSTER), f"the {PROFILE} profile holds {sorted(profiled)}"
    for name in CLUSTER:
        assert services()[name]["profiles"] == [PROFILE], f"{name} must be in {PROFILE} only"


def test_the_default_profile_is_unchanged() -> None:
    default = {name for name, s in services().items() if not s.get("profiles")}
    assert default == set(DEFAULT_PORTS), f"`docker compose up` would start {sorted(default)}"
    for name, ports in DEFAULT_PORTS.items():
        assert [str(p) for p in _service(name).get("ports") or []] == ports, name
        assert closure([name]) <= default, f"{name} must not need a service of a profile"
    for name in CLUSTER:
        outside = closure([name]) - set(CLUSTER)
        assert not outside, f"{name} needs {sorted(outside)}, outside the {PROFILE} profile"


def test_the_documented_command_starts_the_whole_cluster_and_nothing_else() -> None:
    """`--profile cluster up` alone would start the default services too (8000 twice)."""
    for document in (COMPOSE_FILE, ROOT / "docs" / "scaling.md"):
        text = document.read_text(encoding="utf-8")
        commands = re.findall(r"docker compose --profile cluster up ([^\n`#]+)", text)
        assert commands, f"{document.name} must say how to start the cluster"
        for command in commands:
            named = [word for word in command.split() if not word.startswith("-")]
            assert named, f"{document.name}: `{command}` must name the cluster's services"
            assert closure(named) == set(CLUSTER), (
                f"{document.name}: `up {command}` starts {sorted(closure(named))}"
            )


# --- MongoDB: one replica set of three members ---------------------------------------


def replica_set_of(member: str) -> str:
    command = _argv(_service(member)["command"])
    for flag in ("--replSet", "--auth", "--keyFile"):
        assert flag in command, f"{member} must run mongod with {flag}: {command}"
    return command[command.index("--replSet") + 1]


def test_three_mongo_members_run_one_replica_set_with_a_keyfile_and_auth() -> None:
    sets = {member: replica_set_of(member) for member in MONGO_MEMBERS}
    assert len(set(sets.values())) == 1, f"the members run different replica sets: {sets}"
    keyfiles = set()
    for member in MONGO_MEMBERS:
        command = _argv(_service(member)["command"])
        keyfiles.add(command[command.index("--keyFile") + 1])
        entrypoint = _argv(_service(member)["entrypoint"])[0]
        script = mounted(member, str(Path(entrypoint).parent)) / Path(entrypoint).name
        assert script == mounted("mongo", str(Path(entrypoint).parent)) / Path(entrypoint).name
        key = raw_environment(member).get("MONGO_REPLICA_SET_KEY")
        assert key == raw_environment("mongo")["MONGO_REPLICA_SET_KEY"], (
            f"{member} must read the keyfile's content from .env, like mongo"
        )
    assert len(keyfiles) == 1, f"the members read different keyfiles: {keyfiles}"
    [keyfile] = keyfiles
    assert f"key={keyfile}" in mounted("mongo", "/etc/boundbox/mongo").joinpath(
        "entrypoint.sh"
    ).read_text(encoding="utf-8")
    data = [mounts(member)["/data/db"] for member in MONGO_MEMBERS]
    assert len(set(data)) == len(MONGO_MEMBERS), f"each member needs its own volume: {data}"


def test_one_member_initiates_the_set_with_all_three() -> None:
    [replica_set] = {replica_set_of(member) for member in MONGO_MEMBERS}
    initiating = [m for m in MONGO_MEMBERS if "rs.initiate" in " ".join(_healthcheck_argv(m))]
    assert initiating == ["mongo-1"], f"exactly mongo-1 must initiate the set: {initiating}"
    script = " ".join(_healthcheck_argv("mongo-1"))
    match = re.search(r"rs\.initiate\(\s*\{\s*_id:\s*'([^']+)',\s*members:\s*\[(.*?)\]", script)
    assert match, "mongo-1's health check must call rs.initiate({_id: ..., members: [...]})"
    assert match.group(1) == replica_set
    hosts = re.findall(r"host:\s*'([^']+)'", match.group(2))
    assert sorted(hosts) == [f"{member}:27017" for member in MONGO_MEMBERS], hosts
    # Users are created on mongo-1's empty volume; the others get them by initial sync.
    assert "/docker-entrypoint-initdb.d/10-app-user.js" in mounts("mongo-1")
    assert (
        raw_environment("mongo-1")["MONGO_INITDB_ROOT_PASSWORD"]
        == (raw_environment("mongo")["MONGO_INITDB_ROOT_PASSWORD"])
    )
    for member in MONGO_MEMBERS[1:]:
        assert not any("initdb" in target for target in mounts(member)), member
        assert not any("INITDB" in name for name in raw_environment(member)), member
        assert depends_on("mongo-1")[member] == "service_started", (
            f"mongo-1 may wait for {member} to start, not to be healthy (it never would be)"
        )


@pytest.mark.parametrize("service", APPLICATION)
def test_mongodb_url_lists_the_members_with_majority_and_retries(service: str) -> None:
    [replica_set] = {replica_set_of(member) for member in MONGO_MEMBERS}
    url = settings_of(service).mongodb_url  # validated as the process will
    parsed = uri_parser.parse_uri(url)
    assert parsed["nodelist"] == [(member, 27017) for member in MONGO_MEMBERS], url
    assert parsed["username"] == env_example()["MONGO_APP_USERNAME"]
    options = parsed["options"]
    expected = {
        "replicaSet": replica_set,
        "authSource": "admin",
        "w": "majority",
        "readConcernLevel": "majority",
        "retryWrites": True,
        "retryReads": True,
    }
    assert {name: options.get(name) for name in expected} == expected, url
    for member in MONGO_MEMBERS:
        assert depends_on(service)[member] == "service_healthy", f"{service}: {member}"


# --- the documentation --------------------------------------------------------------


def test_scaling_names_only_real_settings_and_is_linked_from_the_readme() -> None:
    """Every variable docs/scaling.md names is one Settings reads, or one of .env.example."""
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})(?:=[^`]*)?`", text))
    known = {field.upper() for field in Settings.model_fields} | set(env_example())
    assert named, "docs/scaling.md names no setting"
    assert not named - known, f"docs/scaling.md names unknown settings {sorted(named - known)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/scaling.md)" in readme, "README.md must link docs/scaling.md"
