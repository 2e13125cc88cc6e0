"""The outbox contract: bound-session transactions commit state and events together, or neither.

Runs over the real wire protocol: the dev database, or a replica set named by MONGODB_URL.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

import outbox
from outbox import OutboxEvent
from tests.outbox.conftest import Item
from tests.support.processes import free_port

pytestmark = pytest.mark.usefixtures("app_client")


async def create_item(name: str, aggregate_id: str = "agg-1") -> Item:
    item = await Item(name=name).insert()
    await outbox.record(
        aggregate_type="item", aggregate_id=aggregate_id, name="created", payload={"name": name}
    )
    return item


class BoomError(Exception):
    pass


async def test_commit_makes_state_and_event_visible() -> None:
    @outbox.transactional()
    async def handler() -> Item:
        return await create_item("a")

    with outbox.event_context(
        correlation_id="req-1", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    ):
        await handler()

    assert await Item.find(Item.name == "a").count() == 1
    [event] = await OutboxEvent.find_all().to_list()
    assert (event.type, event.routing_key) == ("item.created", "item.created")
    assert (event.aggregate_type, event.aggregate_id, event.aggregate_version) == (
        "item",
        "agg-1",
        1,
    )
    assert event.payload == {"name": "a"}
    assert event.headers.correlation_id == "req-1"
    assert event.headers.traceparent is not None
    assert event.status is outbox.EventStatus.PENDING


async def test_any_exception_leaves_neither_state_nor_event() -> None:
    error = BoomError("business rule")

    @outbox.transactional()
    async def handler() -> None:
        await create_item("doomed")
        raise error

    with pytest.raises(BoomError) as raised:
        await handler()
    assert raised.value is error  # propagated unchanged
    assert await Item.count() == 0
    assert await OutboxEvent.count() == 0


async def test_async_with_forms_commit_and_abort() -> None:
    async with outbox.transaction():
        await create_item("kept")
    with pytest.raises(BoomError):
        async with outbox.transaction():
            await create_item("dropped")
            raise BoomError
    assert [i.name for i in await Item.find_all().to_list()] == ["kept"]
    assert await OutboxEvent.count() == 1


async def test_a_transaction_inside_a_transaction_joins_it() -> None:
    starts = 0

    @outbox.transactional()
    async def inner() -> None:
        nonlocal starts
        starts += 1
        await create_item("inner")

    @outbox.transactional()
    async def outer() -> None:
        session = outbox.current_session()
        await inner()
        async with outbox.transaction() as joined:
            assert joined is session
            await create_item("block")
        assert session.in_transaction  # the inner scopes did not commit it
        raise BoomError

    with pytest.raises(BoomError):
        await outer()
    assert starts == 1
    assert await Item.count() == 0  # the inner writes went with the outer abort
    assert await OutboxEvent.count() == 0


async def test_transaction_without_a_bound_session_binds_its_own() -> None:
    assert outbox.bound_session() is None

    @outbox.transactional()
    async def handler() -> bool:
        return outbox.current_session().in_transaction

    assert await handler() is True
    assert outbox.bound_session() is None  # unbound again afterwards


async def test_auto_session_forms_bind_a_session_without_a_transaction() -> None:
    @outbox.auto_session()
    async def read() -> tuple[Any, bool]:
        return outbox.current_session(), outbox.in_transaction()

    session, in_txn = await read()
    assert session is not None and in_txn is False
    async with outbox.session_scope() as scoped:
        assert outbox.current_session() is scoped
        async with outbox.transaction() as txn_session:
            assert txn_session is scoped  # a transaction starts on the bound session
            await create_item("in-scope")
    assert await OutboxEvent.count() == 1


async def test_200_concurrent_units_of_work_each_get_their_own_session() -> None:
    sessions: set[bytes] = set()

    @outbox.transactional()
    async def handler(n: int) -> None:
        session_id = outbox.current_session().session_id["id"]
        await Item(name=f"item-{n}").insert()
        await asyncio.sleep(0)  # let the other tasks interleave
        assert outbox.current_session().session_id["id"] == session_id
        sessions.add(bytes(session_id))
        await outbox.record(
            aggregate_type="item", aggregate_id=f"agg-{n % 10}", name="created", payload={"n": n}
        )

    await asyncio.gather(*(handler(n) for n in range(200)))

    assert len(sessions) == 200
    events = await OutboxEvent.find_all().to_list()
    assert sorted(e.payload["n"] for e in events) == list(range(200))
    for aggregate in range(10):
        versions = sorted(
            e.aggregate_version for e in events if e.aggregate_id == f"agg-{aggregate}"
        )
        assert versions == list(range(1, 21))
    assert await Item.count() == 200


def test_decorators_keep_the_signature() -> None:
    async def endpoint(item_id: str, *, limit: int = 10) -> str:
        return item_id

    for decorated in (outbox.transactional()(endpoint), outbox.auto_session()(endpoint)):
        assert inspect.signature(decorated) == inspect.signature(endpoint)
        assert decorated.__name__ == "endpoint"


async def test_transient_error_retries_the_whole_unit_of_work(fail_command: Any) -> None:
    calls = 0

    @outbox.transactional()
    async def handler() -> None:
        nonlocal calls
        calls += 1
        await create_item("retried")

    await fail_command(["insert"], times=1, code=112, labels=["TransientTransactionError"])
    await handler()

    assert calls == 2
    assert await Item.count() == 1
    assert await OutboxEvent.count() == 1


async def test_unknown_commit_result_retries_only_the_commit(
    fail_command: Any, app_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    calls = 0

    @outbox.transactional()
    async def handler() -> None:
        nonlocal calls
        calls += 1
        await create_item("committed-once")

    # The driver retries a failed commit once by itself; the second failure reaches us.
    await fail_command(
        ["commitTransaction"], times=2, code=91, labels=["UnknownTransactionCommitResult"]
    )
    await handler()

    assert calls == 1
    assert await Item.count() == 1
    [event] = await OutboxEvent.find_all().to_list()
    assert event.aggregate_version == 1


async def test_business_errors_and_unlabelled_driver_errors_are_not_retried() -> None:
    calls = 0

    @outbox.transactional()
    async def duplicate() -> None:
        nonlocal calls
        calls += 1
        item = await Item(name="dup").insert()
        await Item(id=item.id, name="again").insert()

    with pytest.raises(DuplicateKeyError):
        await duplicate()
    assert calls == 1
    assert await Item.count() == 0


async def test_retries_stop_when_the_budget_is_spent(fail_command: Any) -> None:
    calls = 0

    @outbox.transactional(policy=outbox.RetryPolicy(budget_seconds=0.3))
    async def handler() -> None:
        nonlocal calls
        calls += 1
        await create_item("never")

    await fail_command(["insert"], times=None, code=112, labels=["TransientTransactionError"])
    with pytest.raises(outbox.TransactionFailedError, match="still failing") as raised:
        await handler()
    assert raised.value.__cause__ is not None
    assert calls > 1
    await fail_command(["insert"], times=0, code=112)
    assert await Item.count() == 0
    assert await OutboxEvent.count() == 0


async def test_the_default_policy_applies_where_none_is_named(fail_command: Any) -> None:
    @outbox.transactional()
    async def handler() -> None:
        await create_item("never")

    await fail_command(["insert"], times=None, code=112, labels=["TransientTransactionError"])
    outbox.set_default_policy(outbox.RetryPolicy(budget_seconds=0.2))
    try:
        with pytest.raises(outbox.TransactionFailedError, match=r"in 0.2s"):
            await handler()
    finally:
        outbox.set_default_policy(outbox.RetryPolicy())


async def test_an_unreachable_server_is_reported_at_once_not_retried() -> None:
    unreachable: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}", serverSelectionTimeoutMS=200
    )
    outbox.use_client(unreachable)
    calls = 0

    @outbox.transactional()
    async def handler() -> None:
        nonlocal calls
        calls += 1
        await unreachable.db.items.insert_one({"n": 1})

    try:
        with pytest.raises(ServerSelectionTimeoutError):
            await handler()
    finally:
        await unreachable.close()
    assert calls == 1
