"""Unit tests of batch planning (per-aggregate order, holds) and of publishing a planned batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from relay.errors import BrokerUnavailableError, PublishRefusedError
from relay.messages import Outgoing
from relay.plan import Plan, plan
from relay.publisher import publish_batch
from relay.records import AggregateKey
from relay.state import Holds, LastPublished
from relay.store import Published

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def event(aggregate_id: str, version: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_id": uuid.uuid4(),
        "type": "order.changed",
        "aggregate_type": "order",
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "occurred_at": NOW,
        "payload": {"v": version},
        "routing_key": "order.changed",
        "partition": 1,
        "status": "pending",
        "attempts": 0,
        "available_at": NOW,
    }
    base.update(changes)
    return base


def never(key: AggregateKey) -> int | None:
    return None


def make(
    fetched: list[dict[str, Any]],
    *,
    predecessors: dict[AggregateKey, list[dict[str, Any]]] | None = None,
    last_published: Callable[[AggregateKey], int | None] = never,
    max_items: int = 100,
) -> Plan:
    return plan(
        fetched,
        predecessors=predecessors,
        last_published=last_published,
        now=NOW,
        max_items=max_items,
    )


def versions(result: Plan) -> dict[str, list[int | None]]:
    return {chain.key[1]: [item.ref.version for item in chain.items] for chain in result.chains}


def test_chains_keep_fetch_order_and_run_through_consecutive_versions() -> None:
    result = make([event("b", 1), event("a", 2), event("a", 1), event("b", 2), event("b", 4)])
    assert versions(result) == {"b": [1, 2], "a": [1, 2]}  # b stops before the gap at 3
    assert [chain.key[1] for chain in result.chains] == ["b", "a"]


def test_a_later_version_alone_needs_its_predecessors_checked() -> None:
    result = make([event("a", 3), event("b", 1)])
    assert versions(result) == {"b": [1]}
    assert result.unverified == {("order", "a")}


def test_what_this_relay_published_last_proves_the_order() -> None:
    published = LastPublished()
    published.remember(("order", "a"), 2)
    result = make([event("a", 3), event("a", 4)], last_published=published)
    assert versions(result) == {"a": [3, 4]}
    assert not result.unverified


def test_pending_predecessors_join_the_chain_in_front() -> None:
    result = make([event("a", 3)], predecessors={("order", "a"): [event("a", 2)]})
    assert versions(result) == {"a": [2, 3]}


def test_no_unpublished_predecessor_means_the_fetched_event_is_first() -> None:
    result = make([event("a", 3)], predecessors={("order", "a"): []})
    assert versions(result) == {"a": [3]}


def test_a_parked_predecessor_holds_the_aggregate_back() -> None:
    parked = event("a", 2, status="failed", attempts=10)
    result = make([event("a", 3), event("b", 1)], predecessors={("order", "a"): [parked]})
    assert versions(result) == {"b": [1]}
    assert result.holds == {("order", "a"): None}


def test_a_backing_off_event_stops_its_chain_until_its_retry_time() -> None:
    later = NOW + timedelta(seconds=30)
    result = make([event("a", 1), event("a", 2, attempts=1, available_at=later), event("a", 3)])
    assert versions(result) == {"a": [1]}
    assert result.holds == {("order", "a"): later}
    due = make([event("a", 2, attempts=1, available_at=NOW - timedelta(seconds=1))])
    assert versions(due) == {}  # version 2 alone is unverified: nothing published
    assert due.unverified == {("order", "a")}


def test_an_unpublishable_event_is_planned_with_its_reason() -> None:
    result = make([event("a", 1, payload={"when": NOW}), event("a", 2)])
    first, second = result.chains[0].items
    assert first.outgoing is None and first.error is not None and "JSON" in first.error
    assert second.outgoing is not None


def test_documents_without_an_aggregate_are_orphans() -> None:
    result = make([{"_id": "junk", "payload": {}}, event("a", 1)])
    assert len(result.orphans) == 1 and result.orphans[0].error
    assert versions(result) == {"a": [1]}


def test_a_batch_never_exceeds_its_budget() -> None:
    result = make([event("a", v) for v in range(1, 8)] + [event("b", 1)], max_items=5)
    assert result.size == 5
    assert versions(result) == {"a": [1, 2, 3, 4, 5]}


def test_holds_expire_and_parked_holds_stay() -> None:
    holds = Holds()
    holds.hold(("order", "a"), NOW + timedelta(seconds=1))
    holds.hold(("order", "b"), None)
    assert holds.held_ids(NOW) == ["a", "b"]
    assert holds.held_ids(NOW + timedelta(seconds=2)) == ["b"]


def test_last_published_forgets_the_least_recently_used() -> None:
    published = LastPublished(capacity=2)
    published.remember(("t", "a"), 1)
    published.remember(("t", "b"), 1)
    published.remember(("t", "a"), 2)
    published.remember(("t", "c"), 1)
    assert (published(("t", "a")), published(("t", "b")), published(("t", "c"))) == (2, None, 1)


class RecordingBroker:
    """A fake broker: records publications, refuses or drops the ones it is told to."""

    exchange_name = "bbtest.plan"

    def __init__(self, *, refuse: set[int] = frozenset(), drop_after: int | None = None) -> None:  # type: ignore[assignment]
        self.refuse = refuse
        self.drop_after = drop_after
        self.sent: list[tuple[str, int]] = []
        self.lost_with: BaseException | None = None

    async def publish(self, outgoing: Outgoing) -> None:
        await asyncio.sleep(0)
        headers = outgoing.properties.headers or {}
        version = int(headers["aggregate_version"])  # type: ignore[arg-type]
        if self.drop_after is not None and len(self.sent) >= self.drop_after:
            raise BrokerUnavailableError("connection reset")
        if version in self.refuse:
            raise PublishRefusedError("returned by the broker: NO_ROUTE")
        self.sent.append((str(headers["aggregate_id"]), version))

    def lost(self, error: BaseException) -> None:
        self.lost_with = error


def ids_of(batch: Plan, aggregate_id: str, count: int) -> tuple[Any, ...]:
    """The `_id`s of the first `count` events of `aggregate_id`'s chain in `batch`."""
    [chain] = [chain for chain in batch.chains if chain.key[1] == aggregate_id]
    return tuple(item.ref.document_id for item in chain.items[:count])


async def test_a_chain_stops_at_its_first_refusal_and_others_go_on() -> None:
    batch = make([event("a", 1), event("a", 2), event("a", 3), event("b", 1), event("b", 2)])
    broker = RecordingBroker(refuse={2})
    outcome = await publish_batch(broker, batch.chains, batch.orphans, within=5)  # type: ignore[arg-type]
    assert ("a", 3) not in broker.sent  # never n+1 before n
    assert sorted(outcome.published, key=lambda p: p.key) == [
        Published(("order", "a"), 1, 1, ids_of(batch, "a", 1)),
        Published(("order", "b"), 1, 1, ids_of(batch, "b", 1)),
    ]
    assert [(item.ref.key[1], item.ref.version) for item, _ in outcome.refused] == [
        ("a", 2),
        ("b", 2),
    ]
    assert not outcome.interrupted


async def test_a_broker_failure_interrupts_without_blaming_events() -> None:
    batch = make([event("a", v) for v in range(1, 5)])
    outcome = await publish_batch(RecordingBroker(drop_after=2), batch.chains, [], within=5)  # type: ignore[arg-type]
    assert outcome.interrupted
    assert outcome.published == [Published(("order", "a"), 1, 2, ids_of(batch, "a", 2))]
    assert outcome.refused == []


async def test_confirms_that_never_come_interrupt_the_batch() -> None:
    class SilentBroker(RecordingBroker):
        async def publish(self, outgoing: Outgoing) -> None:
            await asyncio.Event().wait()

    broker = SilentBroker()
    batch = make([event("a", 1)])
    outcome = await publish_batch(broker, batch.chains, [], within=0.05)  # type: ignore[arg-type]
    assert outcome.interrupted and outcome.published == []
    assert isinstance(broker.lost_with, TimeoutError)
