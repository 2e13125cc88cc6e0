"""The cluster profile's RabbitMQ: three nodes in one cluster, and the relays and consumers on it.

Parsed, not run: the nodes' configuration files are read as RabbitMQ reads them, and the
relays' and consumers' environments as `Settings` reads them, with .env.example as the .env.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from boundbox.settings import broker_user
from tests.deploy.cluster import (
    BROKER_NODES,
    CONSUMERS,
    MONGO_MEMBERS,
    RELAYS,
    depends_on,
    mounted,
    mounts,
    services,
)
from tests.deploy.configs import enabled_plugins, rabbitmq_conf
from tests.deploy.definitions import RELAY, SALES, permissions
from tests.test_compose import _argv, _service, raw_environment, settings_of

COOKIE = "BOUNDBOX_ERLANG_COOKIE"  # the variable deploy/rabbitmq/entrypoint.sh writes out
PLUGINS = "/etc/rabbitmq/enabled_plugins"
HASH_PLUGIN = "rabbitmq_consistent_hash_exchange"
# Where locally installed RabbitMQ keeps its plugins (Debian's package), to check names against.
LOCAL_PLUGINS = Path("/usr/lib/rabbitmq/lib")


def cluster_conf(node: str) -> dict[str, str]:
    """The settings of the conf.d files a node mounts, the cluster's among them."""
    settings: dict[str, str] = {}
    for target in sorted(mounts(node)):
        if target.startswith("/etc/rabbitmq/conf.d/"):
            settings |= rabbitmq_conf(mounted(node, target))
    return settings


def broker_host(service: str) -> str:
    settings = settings_of(service)
    url = settings.relay_broker_url if service in RELAYS else settings.consumer_broker_url
    return url.split("@", 1)[1].split(":", 1)[0].split("/", 1)[0]


def test_three_nodes_find_each_other_by_name() -> None:
    hostnames = [_service(node).get("hostname") for node in BROKER_NODES]
    assert hostnames == list(BROKER_NODES), f"each node needs a fixed hostname: {hostnames}"
    for node in BROKER_NODES:
        conf = cluster_conf(node)
        assert conf.get("cluster_formation.peer_discovery_backend") == "classic_config", node
        listed = {
            value
            for key, value in conf.items()
            if key.startswith("cluster_formation.classic_config.nodes.")
        }
        assert listed == {f"rabbit@{name}" for name in hostnames}, f"{node} lists {listed}"
        assert int(conf["quorum_queue.continuous_membership_reconciliation.target_group_size"]) == (
            len(BROKER_NODES)
        )
        assert conf["quorum_queue.continuous_membership_reconciliation.enabled"] == "true"
        assert conf["queue_leader_locator"] == "balanced", "queue leaders must spread"
    data = {mounts(node)["/var/lib/rabbitmq"] for node in BROKER_NODES}
    assert len(data) == len(BROKER_NODES), "each node needs its own data volume"
    for node in BROKER_NODES[1:]:
        assert depends_on(node) == {BROKER_NODES[0]: "service_healthy"}, (
            f"{node} must boot once {BROKER_NODES[0]} runs, to join it"
        )


def test_the_nodes_share_one_cookie_from_the_env_file() -> None:
    cookies = {raw_environment(node).get(COOKIE) for node in BROKER_NODES}
    assert cookies == {"${RABBITMQ_ERLANG_COOKIE:?set it in .env}"}, cookies
    for node in BROKER_NODES:
        entrypoint = _argv(_service(node)["entrypoint"])[0]
        assert entrypoint == _argv(_service("rabbitmq")["entrypoint"])[0]
        script = mounted(node, str(Path(entrypoint).parent)) / Path(entrypoint).name
        text = script.read_text(encoding="utf-8")
        assert f'"${COOKIE}" > "$cookie"' in text, f"{script.name} must write {COOKIE}"
        assert "cookie=/var/lib/rabbitmq/.erlang.cookie" in text
        assert 'chmod 400 "$cookie"' in text, "the cookie must be readable by RabbitMQ alone"
        # The same users and permissions as the default broker, loaded at boot.
        for target in ("/etc/rabbitmq/conf.d/20-boundbox.conf", "/etc/boundbox/rabbitmq"):
            assert mounted(node, target) == mounted("rabbitmq", target), f"{node}: {target}"


def test_every_broker_enables_the_consistent_hash_exchange() -> None:
    brokers = [n for n, s in services().items() if str(s.get("image", "")).startswith("rabbitmq")]
    assert set(brokers) == {"rabbitmq", *BROKER_NODES}
    for broker in brokers:
        plugins = enabled_plugins(mounted(broker, PLUGINS))
        # The image enables management and prometheus: a file of our own must keep them.
        assert {HASH_PLUGIN, "rabbitmq_management", "rabbitmq_prometheus"} <= set(plugins), (
            f"{broker} enables {plugins}"
        )
    installed = {path.name.rsplit("-", 1)[0] for path in LOCAL_PLUGINS.glob("*/plugins/*")}
    if installed:  # a RabbitMQ on this machine: the names are real plugins
        unknown = set(enabled_plugins(mounted("rabbitmq", PLUGINS))) - installed
        assert not unknown, f"no such RabbitMQ plugins: {sorted(unknown)}"


def test_two_relays_with_their_own_ids_on_two_nodes() -> None:
    ids = [settings_of(relay).relay_id for relay in RELAYS]
    assert all(ids) and len(set(ids)) == len(RELAYS), f"RELAY_ID must tell them apart: {ids}"
    hosts = [broker_host(relay) for relay in RELAYS]
    assert set(hosts) <= set(BROKER_NODES) and len(set(hosts)) == len(RELAYS), hosts
    default = settings_of("relay")
    for relay in RELAYS:
        settings = settings_of(relay)
        assert broker_user(settings.relay_broker_url) == RELAY
        assert settings.archive_queue == default.archive_queue
        assert settings.exchange_name == default.exchange_name


def test_two_consumers_in_ordered_mode_on_two_nodes() -> None:
    for consumer in CONSUMERS:
        environment = raw_environment(consumer)
        assert environment.get("CONSUMER_ORDERED") == "true", consumer
        partitions = environment.get("CONSUMER_PARTITIONS") or ""
        assert partitions.isdigit() and int(partitions) >= len(CONSUMERS), (
            f"{consumer}: CONSUMER_PARTITIONS must give every instance a queue: {partitions!r}"
        )
        settings = settings_of(consumer)
        assert broker_user(settings.consumer_broker_url) == SALES
        assert settings.trusted_publisher_users == {RELAY}
        # The sales user may declare and read every queue of ordered mode, and its exchange.
        queue = f"{settings.consumer_queue_prefix}.sales"
        names = [f"{queue}.hash", *(f"{queue}.{n}" for n in range(int(partitions)))]
        may = permissions(SALES)
        refused = [n for n in names for k in ("configure", "write", "read") if not may.allows(k, n)]
        assert not refused, f"{SALES} may not use {sorted(set(refused))}"
    ids = [settings_of(consumer).consumer_id for consumer in CONSUMERS]
    assert all(ids) and len(set(ids)) == len(CONSUMERS), f"CONSUMER_ID: {ids}"
    hosts = [broker_host(consumer) for consumer in CONSUMERS]
    assert set(hosts) <= set(BROKER_NODES) and len(set(hosts)) == len(CONSUMERS), hosts


@pytest.mark.parametrize("service", [*RELAYS, *CONSUMERS])
def test_relays_and_consumers_wait_for_every_member_and_node(service: str) -> None:
    for dependency in (*MONGO_MEMBERS, *BROKER_NODES):
        assert depends_on(service).get(dependency) == "service_healthy", (
            f"{service} must wait for {dependency} to be healthy (quorum queues get all nodes)"
        )
