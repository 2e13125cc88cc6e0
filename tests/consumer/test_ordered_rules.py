"""Ordered mode's pure rules: the version verdict, the queue split, the ordered topology."""

from __future__ import annotations

from collections import Counter

import pytest

from outbox.consumer.membership import Ordering, assigned, member_id
from outbox.consumer.topology import Topology
from outbox.consumer.versions import Verdict, verdict


@pytest.mark.parametrize(
    ("last", "version", "expected"),
    [
        (None, 1, Verdict.APPLY),
        (None, 7, Verdict.APPLY),  # an aggregate not seen yet starts where it is
        (3, 4, Verdict.APPLY),
        (3, 3, Verdict.DUPLICATE),
        (3, 1, Verdict.DUPLICATE),
        (3, 5, Verdict.GAP),
        (3, 2**63 - 1, Verdict.GAP),
    ],
)
def test_the_version_rule(last: int | None, version: int, expected: Verdict) -> None:
    assert verdict(last, version) is expected


@pytest.mark.parametrize("members", [1, 2, 3, 5, 8, 9, 300])
def test_every_queue_goes_to_exactly_one_member_and_shares_differ_by_at_most_one(
    members: int,
) -> None:
    names = [f"m{index:03}" for index in range(members)]
    taken = Counter(index for name in names for index in assigned(8, names, name))
    assert sorted(taken) == list(range(8)) and set(taken.values()) == {1}
    shares = [len(assigned(8, names, name)) for name in names]
    assert max(shares) - min(shares) <= 1


def test_the_split_depends_on_the_members_not_their_order_and_counts_oneself() -> None:
    assert assigned(8, ["b", "a", "c"], "a") == assigned(8, ["c", "a", "b"], "a") == (0, 3, 6)
    assert assigned(8, ["b"], "a") == (0, 2, 4, 6)  # a member not yet in the list still counts
    assert assigned(8, [], "a") == tuple(range(8))


def test_member_ids_are_unique_even_for_one_name() -> None:
    assert member_id("sales-1") != member_id("sales-1")
    assert member_id("sales-1").startswith("sales-1-")


def test_a_heartbeat_must_be_shorter_than_its_expiry() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        Ordering(member="a", heartbeat=5, expiry=5)


def test_an_ordered_topology_names_its_hash_exchange_queues_and_aggregate_patterns() -> None:
    topology = Topology(
        exchange="boundbox.events",
        queue="boundbox.sales",
        patterns=("order.placed", "order.cancelled", "product.priced"),
        max_deliveries=5,
        partitions=3,
    )
    assert topology.ordered
    assert topology.hash_exchange == "boundbox.sales.hash"
    assert topology.partition_queues == ("boundbox.sales.0", "boundbox.sales.1", "boundbox.sales.2")
    assert topology.aggregate_patterns == ("order.#", "product.#")
    assert topology.queue_arguments["x-single-active-consumer"] is True
    assert topology.queue_arguments["x-delivery-limit"] == 5


def test_a_wildcard_type_binds_every_aggregate_and_a_shared_queue_has_no_single_consumer() -> None:
    shared = Topology(exchange="e", queue="q", patterns=("#",), max_deliveries=5)
    assert not shared.ordered
    assert "x-single-active-consumer" not in shared.queue_arguments
    ordered = Topology(
        exchange="e", queue="q", patterns=("*.placed",), max_deliveries=5, partitions=1
    )
    assert ordered.aggregate_patterns == ("#",)
    with pytest.raises(ValueError, match="partitions"):
        Topology(exchange="e", queue="q", patterns=("#",), max_deliveries=5, partitions=257)
