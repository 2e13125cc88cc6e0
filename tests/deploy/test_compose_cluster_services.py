"""The cluster profile's own services: the api replicas behind the proxy, what every service
shares with its default counterpart, and what no service may do (ports, literal secrets).

Parsed, not run: deploy/proxy/haproxy.cfg is read as HAProxy reads its sections.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from boundbox.settings import Settings
from tests.deploy.cluster import (
    API_REPLICAS,
    APPLICATION,
    CLUSTER,
    CONSUMERS,
    MONGO_MEMBERS,
    PROXY,
    RELAYS,
    SECRET_NAME,
    SUBSTITUTED,
    depends_on,
    mounted,
    services,
)
from tests.deploy.configs import Section, haproxy_sections
from tests.test_compose import (
    HEALTH_PATHS,
    _argv,
    _healthcheck_argv,
    _service,
    env_example,
    raw_environment,
    settings_of,
)

CONFIG = "/usr/local/etc/haproxy/haproxy.cfg"
# Each of our cluster services runs what this default service runs.
COUNTERPART = {
    **dict.fromkeys(API_REPLICAS, "api"),
    **dict.fromkeys(RELAYS, "relay"),
    **dict.fromkeys(CONSUMERS, "consumer"),
}
# Where the cluster's differ: the addresses of the replica set and the broker nodes.
ADDRESSES = {"MONGODB_URL", "RELAY_AMQP_URL", "CONSUMER_AMQP_URL"}
DOCKER_DNS = "127.0.0.11:53"


def sections() -> dict[tuple[str, str], Section]:
    return haproxy_sections(mounted(PROXY, CONFIG))


def section(kind: str, name: str) -> Section:
    found = sections().get((kind, name))
    assert found, f"haproxy.cfg has no `{kind} {name}`"
    return found


def test_the_proxy_alone_publishes_the_api_and_routes_to_every_replica() -> None:
    port = str(settings_of(API_REPLICAS[0]).api_port)
    assert _service(PROXY)["ports"] == [f"127.0.0.1:{port}:{port}"]
    for replica in API_REPLICAS:
        assert not _service(replica).get("ports"), f"{replica} must be reached via the proxy"
        assert str(settings_of(replica).api_port) == port
        assert depends_on(PROXY)[replica] == "service_started"

    frontends = [s for s in sections().values() if s.kind == "frontend"]
    public = [
        s for s in frontends if any(b[0] in (f":{port}", f"*:{port}") for b in s.values("bind"))
    ]
    assert len(public) == 1, f"one frontend must bind :{port} (every interface of the container)"
    [[backend_name]] = public[0].values("default_backend")
    backend = section("backend", backend_name)
    servers = {args[0]: args[1] for args in backend.values("server")}
    assert servers == {replica: f"{replica}:{port}" for replica in API_REPLICAS}, servers

    checked = backend.values("default-server")
    assert any("check" in args for args in checked), "the replicas must be health-checked"
    assert ["httpchk"] in backend.values("option")
    [send] = backend.values("http-check send")
    assert send == ["meth", "GET", "uri", HEALTH_PATHS["api"]], send
    assert ["expect", "status", "200"] in backend.values("http-check")
    # Docker's DNS, so a replica restarted with another address is found again.
    [resolvers] = [args[args.index("resolvers") + 1] for args in checked if "resolvers" in args]
    assert ["dns", DOCKER_DNS] in section("resolvers", resolvers).values("nameserver")


def test_the_proxy_health_check_asks_its_own_monitor() -> None:
    monitors = [s for s in sections().values() if s.kind == "frontend" and s.values("monitor-uri")]
    assert len(monitors) == 1, "one frontend must answer the proxy's own health"
    [[bind]] = monitors[0].values("bind")
    assert bind.startswith("127.0.0.1:"), f"the monitor must listen on loopback only: {bind}"
    [[uri]] = monitors[0].values("monitor-uri")
    probe = _healthcheck_argv(PROXY)
    assert probe[-1] == f"http://{bind}{uri}", probe


@pytest.mark.parametrize("service", APPLICATION)
def test_each_runs_what_its_default_counterpart_runs(service: str) -> None:
    default = COUNTERPART[service]
    for key in ("build", "command", "restart"):
        assert _service(service).get(key) == _service(default).get(key), f"{service}: {key}"
    assert _healthcheck_argv(service) == _healthcheck_argv(default)
    ours, theirs = raw_environment(service), raw_environment(default)
    missing = set(theirs) - set(ours)
    assert not missing, f"{service} lacks {sorted(missing)}, which {default} sets"
    differ = {name for name in theirs if name not in ADDRESSES and ours[name] != theirs[name]}
    assert not differ, f"{service} sets {sorted(differ)} otherwise than {default}"


@pytest.mark.parametrize("service", APPLICATION)
def test_environment_is_made_of_valid_settings(service: str) -> None:
    unknown = [
        name for name in raw_environment(service) if name.lower() not in Settings.model_fields
    ]
    assert not unknown, f"{service} sets {unknown}, which Settings does not read"
    assert settings_of(service)  # validated as the process will, .env.example as the .env


@pytest.mark.parametrize("service", API_REPLICAS)
def test_api_replicas_wait_for_a_healthy_replica_set(service: str) -> None:
    for member in MONGO_MEMBERS:
        assert depends_on(service).get(member) == "service_healthy", f"{service}: {member}"


@pytest.mark.parametrize("service", CLUSTER)
def test_every_cluster_service_has_a_healthcheck(service: str) -> None:
    healthcheck = _service(service).get("healthcheck") or {}
    assert healthcheck.get("test") and not healthcheck.get("disable"), service
    assert _service(service).get("restart") == "unless-stopped", service


def test_no_port_is_published_beyond_localhost() -> None:
    for name, service in services().items():
        for port in service.get("ports") or []:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port!r} beyond 127.0.0.1"


@pytest.mark.parametrize("service", CLUSTER)
def test_no_secret_is_a_literal(service: str) -> None:
    for variable, value in raw_environment(service).items():
        if SECRET_NAME.search(variable):
            assert SUBSTITUTED.match(value or ""), f"{service}: {variable} is a literal"
        if "://" in (value or ""):
            password = urlsplit((value or "").split(",")[0]).password
            assert password is None or SUBSTITUTED.match(password), f"{service}: {variable}"
    assert "guest" not in repr(_service(service)).lower()
    for command in ("command", "entrypoint"):
        argv = " ".join(_argv(_service(service).get(command) or []))
        assert not re.search(r"(-p|--password)\s+[^$\s]", argv), f"{service}: {command}"


def test_the_cookie_placeholder_cannot_start_a_node() -> None:
    """The entrypoint takes letters and digits only: the placeholder's hyphens are refused."""
    placeholder = env_example()["RABBITMQ_ERLANG_COOKIE"]
    assert placeholder.startswith("replace-me") and not placeholder.isalnum()
