"""Scale-out on one machine: 2 APIs, 2 relays and 3 ordered sales consumers share the load.

The multi-process stand-in for a cluster: the APIs take turns answering the load (as behind a
reverse proxy), the relays split the outbox's partitions between them, and the consumers, in
ordered mode, split the sales queues. It ends in the usual reconciliation (nothing lost,
nothing applied twice, the audit finds state = events), and each order's events were applied
in version order, by consumers that all took a share.
"""

from __future__ import annotations

from collections import defaultdict

from tests.chaos.conftest import StartStack
from tests.chaos.invariants import event_id
from tests.chaos.load import Load
from tests.chaos.scenario import finish, under_load
from tests.chaos.stack import ChaosStack
from tests.consumer.conftest import Names

SEED = 11
PARTITIONS = 6
REPLICAS = {"api": 2, "relay": 2, "consumer": 3}


async def test_two_apis_two_relays_three_ordered_consumers_lose_and_repeat_nothing(
    start_stack: StartStack, mongodb_url: str, names: Names, consistent_hash: None
) -> None:
    names.ordered_queue("sales", PARTITIONS)  # deleted after the test
    stack = await start_stack(
        mongodb_url=mongodb_url,
        replicas=REPLICAS,
        extra_env={"CONSUMER_ORDERED": "true", "CONSUMER_PARTITIONS": str(PARTITIONS)},
    )

    async def no_faults(load: Load) -> None:
        return None

    ledger = await under_load(stack, seed=SEED, chaos=no_faults, rate=60, workers=8)
    assert len(ledger.orders) > 100, ledger.statuses()
    shares = {c.name: await applied(stack, c.name) for c in stack.consumers}
    await finish(stack, ledger)
    assert await applied_out_of_order(stack) == []
    assert all(shares.values()), f"a consumer applied nothing: {shares}"


async def applied(stack: ChaosStack, name: str) -> float:
    """How many order.placed events the consumer `name` applied."""
    consumer = next(c for c in stack.consumers if c.name == name)
    return await stack.metric(consumer, "boundbox_consumer_processed_total", type="order.placed")


async def applied_out_of_order(stack: ChaosStack) -> list[str]:
    """Orders whose events the sales inbox received in another order than their versions."""
    versions = {
        event_id(e["_id"]): (e["aggregate_id"], e["aggregate_version"])
        async for e in stack.shop["outbox"].find({"aggregate_type": "order"})
    }
    received: dict[str, list[tuple[int, object]]] = defaultdict(list)
    async for entry in stack.sales["inbox"].find({"consumer": "sales"}):
        aggregate, version = versions[entry["message_id"]]
        received[aggregate].append((version, entry["received_at"]))
    problems = []
    for aggregate, entries in received.items():
        by_version = [at for _, at in sorted(entries, key=lambda e: e[0])]
        if by_version != sorted(by_version):
            problems.append(f"order {aggregate}: {sorted(entries, key=lambda e: e[0])}")
    return problems
