"""Static checks of docker-compose.yml, Dockerfile and .dockerignore.

Docker cannot run where this suite runs, so the files are parsed instead, and every
claim that can be checked without Docker is checked against the project itself: the
commands the compose file runs are real `boundbox` subcommands, the environment it sets
is made of variables `Settings` reads, the health checks need nothing the image lacks.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import ValidationError

from boundbox.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"
ENV_EXAMPLE = ROOT / ".env.example"

INFRASTRUCTURE = ("mongo", "rabbitmq")
OUR_SERVICES = ("api", "relay", "consumer")  # built from our Dockerfile
# The Settings fields holding the address each of our services listens on.
LISTEN_SETTINGS = {
    "api": ("api_host", "api_port"),
    "relay": ("relay_host", "relay_port"),
    "consumer": ("consumer_host", "consumer_port"),
}
BASE_IMAGE = "python:3.13-slim"
# What each service's health check asks: the api is healthy once it is ready (MongoDB answers).
HEALTH_PATHS = {"api": "/readyz", "relay": "/healthz", "consumer": "/healthz"}
# The Settings property holding the broker URL each service connects with (the api has none).
BROKER_URLS = {"relay": "relay_broker_url", "consumer": "consumer_broker_url"}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::([?-])([^}]*))?\}")


# --- helpers -------------------------------------------------------------------------


@cache
def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{COMPOSE_FILE.name} is not a YAML mapping"
    return loaded


def _service(name: str) -> dict[str, Any]:
    services = _compose().get("services") or {}
    assert name in services, f"{COMPOSE_FILE.name} has no service {name!r}"
    service: dict[str, Any] = services[name]
    return service


def _argv(command: str | list[str]) -> list[str]:
    """A compose `command`/`entrypoint` as an argument list (a string is split like a shell)."""
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def _healthcheck_argv(service: str) -> list[str]:
    """The argument list a service's health check executes inside its container."""
    test = _service(service)["healthcheck"]["test"]
    if isinstance(test, str):  # the string form means CMD-SHELL
        return shlex.split(test)
    kind, *rest = test
    if kind == "CMD":
        return [str(arg) for arg in rest]
    if kind == "CMD-SHELL":
        return shlex.split(rest[0])
    raise AssertionError(f"{service}: health check test starts with {kind!r}, not CMD/CMD-SHELL")


@cache
def env_example() -> dict[str, str]:
    """The variables of .env.example, as compose reads a .env."""
    pairs = (
        line.partition("=")
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name.strip(): value.strip() for name, _, value in pairs}


def interpolate(value: str) -> str:
    """`value` as compose passes it with .env.example as the .env: ${VAR}, ${VAR:-x}, ${VAR:?x}."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, kind, default = match.groups()
        found = env_example().get(name, "")
        assert found or kind == "-", f"{name} is needed but .env.example leaves it empty"
        return found or default or ""

    return _VARIABLE.sub(substitute, value)


def raw_environment(service: str) -> dict[str, str | None]:
    """A service's `environment` as written, whichever of compose's two forms it is in."""
    environment = _service(service).get("environment") or {}
    if isinstance(environment, dict):
        return {str(k): None if v is None else str(v) for k, v in environment.items()}
    pairs = (str(entry).partition("=") for entry in environment)
    return {name: value if sep else None for name, sep, value in pairs}


def _environment(service: str) -> dict[str, str | None]:
    """A service's environment as its process gets it, with .env.example as the .env."""
    return {
        name: None if value is None else interpolate(value)
        for name, value in raw_environment(service).items()
    }


def _setting_name(variable: str) -> str:
    prefix = str(Settings.model_config.get("env_prefix") or "")
    assert variable.lower().startswith(prefix.lower()), (
        f"{variable} lacks the settings prefix {prefix!r}"
    )
    return variable.lower().removeprefix(prefix.lower())


def _setting(service: str, field: str) -> str:
    """The value a service's settings field gets: its compose environment, else the default."""
    for variable, value in _environment(service).items():
        if _setting_name(variable) == field and value is not None:
            return value
    return str(Settings.model_fields[field].default)


def _build(service: str) -> tuple[str, str]:
    """(context, dockerfile) of a service's `build`."""
    build = _service(service).get("build")
    assert build is not None, f"{service} has no `build`: it must run the image we build"
    if isinstance(build, str):
        return build, "Dockerfile"
    return str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends in a line continuation"
    return instructions


def _dockerfile(keyword: str) -> list[str]:
    return [arguments for kw, arguments in _dockerfile_instructions() if kw == keyword]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


# --- the services --------------------------------------------------------------------


def test_all_services_exist() -> None:
    services = set(_compose().get("services") or {})
    missing = {*INFRASTRUCTURE, *OUR_SERVICES} - services
    assert not missing, f"{COMPOSE_FILE.name} lacks services {sorted(missing)}"


def test_mongo_runs_as_a_replica_set_our_services_name() -> None:
    """Transactions need a replica set; the one mongod runs is the one the URLs ask for."""
    command = _argv(_service("mongo")["command"])
    assert "--replSet" in command, f"mongo must run with --replSet, its command is {command}"
    replica_set = command[command.index("--replSet") + 1]

    initiate = " ".join(_healthcheck_argv("mongo"))
    match = re.search(r"rs\.initiate\(\s*\{\s*_id:\s*['\"]([^'\"]+)['\"]", initiate)
    assert match, "mongo's health check must initiate the replica set when it is not yet"
    assert match.group(1) == replica_set, (
        f"mongo's health check initiates {match.group(1)!r}, mongod runs --replSet {replica_set}"
    )

    for service in OUR_SERVICES:
        url = _setting(service, "mongodb_url")
        asked = parse_qs(urlsplit(url).query).get("replicaSet")
        assert asked == [replica_set], (
            f"{service}: MONGODB_URL {url} must name replicaSet={replica_set}"
        )


@pytest.mark.parametrize("service", [*INFRASTRUCTURE, *OUR_SERVICES])
def test_every_service_has_a_healthcheck(service: str) -> None:
    healthcheck = _service(service).get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    assert not healthcheck.get("disable"), f"{service}'s healthcheck is disabled"
    test = healthcheck.get("test")
    assert test, f"{service}'s healthcheck has no test"
    assert test != ["NONE"], f"{service}'s healthcheck runs nothing: {test!r}"


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_our_services_wait_for_healthy_infrastructure(service: str) -> None:
    depends_on = _service(service).get("depends_on")
    assert isinstance(depends_on, dict), (
        f"{service}: depends_on must be the long form, with a condition per dependency"
    )
    for dependency in INFRASTRUCTURE:
        condition = (depends_on.get(dependency) or {}).get("condition")
        assert condition == "service_healthy", (
            f"{service} must depend on {dependency} with condition service_healthy, "
            f"not {condition!r}"
        )


def test_our_services_share_one_image_built_from_the_dockerfile() -> None:
    builds = {service: _build(service) for service in OUR_SERVICES}
    assert set(builds.values()) == {(".", "Dockerfile")}, (
        f"api, relay and consumer must all build ./Dockerfile from `.`: {builds}"
    )
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"


@pytest.mark.parametrize("service", [*INFRASTRUCTURE, *OUR_SERVICES])
def test_published_ports_bind_localhost_only(service: str) -> None:
    for port in _service(service).get("ports") or []:
        published = port if isinstance(port, str) else f"{port.get('host_ip')}:{port}"
        assert str(published).startswith("127.0.0.1:"), (
            f"{service} publishes {port!r} on every interface; bind it to 127.0.0.1"
        )


def test_api_publishes_the_port_it_listens_on() -> None:
    api_port = _setting("api", "api_port")
    published = [str(port) for port in _service("api").get("ports") or []]
    assert f"127.0.0.1:{api_port}:{api_port}" in published, (
        f"api listens on {api_port} but publishes {published}"
    )


# --- the commands run in our image exist there ----------------------------------------


def test_dockerfile_builds_from_python_slim() -> None:
    images = [arguments.split()[0] for arguments in _dockerfile("FROM")]
    assert images, "the Dockerfile has no FROM"
    assert images[-1] == BASE_IMAGE, f"the image must be built FROM {BASE_IMAGE}, not {images[-1]}"


def test_dockerfile_entrypoint_is_the_installed_boundbox_cli() -> None:
    entrypoints = _dockerfile("ENTRYPOINT")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    assert json.loads(entrypoints[-1]) == ["boundbox"], (
        f'ENTRYPOINT must be ["boundbox"] (exec form), not {entrypoints[-1]}'
    )
    scripts = _pyproject()["project"].get("scripts", {})
    assert "boundbox" in scripts, (
        "pyproject.toml must declare the `boundbox` script that the image's ENTRYPOINT runs"
    )


def test_dockerfile_installs_the_project_without_dev_extras() -> None:
    runs = _dockerfile("RUN")
    assert any(re.search(r"\bpip install\b[^&;|]*\s\.(\s|$)", run) for run in runs), (
        f"the Dockerfile must `pip install .`: {runs}"
    )
    with_extras = [run for run in runs if re.search(r"\.\[[^\]]*\]", run)]
    assert not with_extras, f"the image must not install extras (no dev database): {with_extras}"


def test_dockerfile_copies_everything_the_build_needs() -> None:
    pyproject = _pyproject()
    needed = {
        "pyproject.toml",
        pyproject["project"]["readme"],
        *pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"],
    }
    copied: set[str] = set()
    for arguments in _dockerfile("COPY"):
        *sources, _destination = [arg for arg in arguments.split() if not arg.startswith("--")]
        copied.update(source.rstrip("/") for source in sources)
    missing = needed - copied
    assert not missing, f"the Dockerfile does not COPY {sorted(missing)}"

    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    excluded = {path for path in needed for pattern in ignored if fnmatch.fnmatch(path, pattern)}
    assert not excluded, f".dockerignore excludes files the build copies: {sorted(excluded)}"
    for kept_out in (".venv", ".data", ".git", "tests", "bench/results"):
        assert kept_out in ignored, f".dockerignore must exclude {kept_out}"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = _dockerfile("USER")
    assert users, "the Dockerfile has no USER: the processes would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"the image runs as {users[-1]}"


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_command_is_a_boundbox_subcommand(service: str) -> None:
    """The image's entrypoint is `boundbox`, so a service's command is its subcommand."""
    assert "entrypoint" not in _service(service), f"{service} must keep the image's entrypoint"
    command = _argv(_service(service)["command"])
    assert command, f"{service} has no command"
    result = subprocess.run(
        [sys.executable, "-m", "boundbox", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"{service}: `boundbox {shlex.join(command)} --help` exited {result.returncode}; "
        f"its command must be a boundbox subcommand.\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_healthcheck_needs_only_python(service: str) -> None:
    argv = _healthcheck_argv(service)
    assert argv[0] == "python", (
        f"{service}'s health check runs {argv[0]!r}; {BASE_IMAGE} has python, not curl or wget"
    )
    offending = [arg for arg in argv if re.search(r"\b(curl|wget)\b", arg)]
    assert not offending, f"{service}'s health check uses curl/wget: {offending}"
    assert argv[1] == "-c", f"{service}'s health check must be `python -c CODE`: {argv}"
    compile(argv[2], f"<{service} healthcheck>", "exec")


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_healthcheck_probes_the_service_own_healthz(service: str) -> None:
    code = _healthcheck_argv(service)[2]
    urls = re.findall(r"https?://[^'\"\s]+", code)
    assert len(urls) == 1, f"{service}'s health check must request one URL, found {urls}"
    url = urlsplit(urls[0])
    _host_field, port_field = LISTEN_SETTINGS[service]
    port = _setting(service, port_field)
    path = HEALTH_PATHS[service]
    assert (url.hostname, str(url.port), url.path) == ("127.0.0.1", port, path), (
        f"{service} listens on port {port}; its health check requests {urls[0]}"
    )


class _HealthzHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path in HEALTH_PATHS.values() else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def healthz_server() -> Iterator[ThreadingHTTPServer]:
    handler = type("Handler", (_HealthzHandler,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_healthcheck_exit_status_follows_healthz(
    service: str, healthz_server: ThreadingHTTPServer
) -> None:
    """Run the health check's code against a stand-in /healthz on a free port."""
    code = _healthcheck_argv(service)[2]
    port = _setting(service, LISTEN_SETTINGS[service][1])
    assert f"127.0.0.1:{port}" in code
    local_code = code.replace(f"127.0.0.1:{port}", f"127.0.0.1:{healthz_server.server_port}")

    for status, healthy in ((200, True), (503, False)):
        healthz_server.RequestHandlerClass.status = status  # type: ignore[attr-defined]
        result = subprocess.run(
            [sys.executable, "-c", local_code],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (result.returncode == 0) is healthy, (
            f"{service}'s health check exited {result.returncode} when /healthz answered "
            f"{status}\n{result.stderr}"
        )


# --- the environment is made of settings ----------------------------------------------


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_environment_variables_are_settings(service: str) -> None:
    unknown = [
        variable
        for variable in _environment(service)
        if _setting_name(variable) not in Settings.model_fields
    ]
    assert not unknown, (
        f"{service} sets {unknown}, which boundbox.settings.Settings does not read "
        "(extra='ignore' would drop them silently)"
    )


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_environment_values_are_valid_settings(service: str) -> None:
    values = {
        _setting_name(variable): value
        for variable, value in _environment(service).items()
        if value is not None and _setting_name(variable) in Settings.model_fields
    }
    try:
        Settings.model_validate(values)  # these values alone: no .env, no process environment
    except ValidationError as e:
        pytest.fail(f"{service}'s environment is not valid settings: {e}")


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_services_listen_on_every_interface(service: str) -> None:
    """Published ports and other containers reach a process only if it binds 0.0.0.0."""
    host_field, _port_field = LISTEN_SETTINGS[service]
    variables = {_setting_name(variable): variable for variable in _environment(service)}
    assert host_field in variables, f"{service} must set {host_field.upper()}=0.0.0.0"
    assert _environment(service)[variables[host_field]] == "0.0.0.0", (
        f"{service} must set {host_field.upper()}=0.0.0.0"
    )


def settings_of(service: str) -> Settings:
    """The settings a service's process reads: its compose environment (.env.example's values)."""
    values = {
        _setting_name(variable): value
        for variable, value in _environment(service).items()
        if value is not None
    }
    return Settings.model_validate(values)


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_urls_name_compose_services(service: str) -> None:
    services = set(_compose()["services"])
    settings = settings_of(service)
    urls = {"MONGODB_URL": settings.mongodb_url}
    if service in BROKER_URLS:
        urls["the broker URL"] = getattr(settings, BROKER_URLS[service])
    for what, url in urls.items():
        host = urlsplit(url).hostname
        assert host in services, (
            f"{service}: {what} points at {host!r}, not at a service of the compose file"
        )
