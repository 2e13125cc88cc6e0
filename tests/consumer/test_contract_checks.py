"""Messages that break the contract, against the real RabbitMQ: each dead-lettered with its
reason at once, the consumer going on with the next."""

from __future__ import annotations

import uuid

from aio_pika import Message
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from pydantic import BaseModel, Field

from outbox.consumer import Delivery, Handlers, InboxEntry
from tests.consumer.conftest import Names, Running, StartConsumer, Tally
from tests.consumer.messages import event_message, publish, raw_message, take
from tests.consumer.test_consumer import COUNTED, counted, tally
from tests.support.processes import eventually


class Counted(BaseModel):
    key: str = Field(min_length=1, max_length=10)


def checked_handlers() -> Handlers:
    handlers = Handlers()

    @handlers.on(COUNTED, payload=Counted)
    async def count(delivery: Delivery) -> None:
        key = delivery.payload(Counted).key
        await Tally.get_pymongo_collection().update_one(
            {"_id": key}, {"$inc": {"total": 1}}, upsert=True
        )

    return handlers


async def dead_letter_of(
    run: Running, channel: AbstractRobustChannel, bad: Message, good_key: str
) -> AbstractIncomingMessage:
    """Publishes `bad` then a good event; the dead-lettered copy of `bad`, once both settled."""
    await publish(channel, run.topology.exchange, COUNTED, bad)
    await publish(
        channel, run.topology.exchange, COUNTED, event_message(COUNTED, {"key": good_key})
    )

    async def applied() -> bool:
        return await tally(good_key) == 1

    await eventually(applied, within=15)
    dlq = await channel.declare_queue(run.topology.dead_letter_queue, passive=True)
    dead = await take(dlq)
    assert dead.message_id == bad.message_id
    return dead


async def test_a_body_over_the_size_limit_is_dead_lettered_as_too_large(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    run = await start_consumer(checked_handlers())
    run.consumer.max_message_bytes = 4096
    dead = await dead_letter_of(run, channel, raw_message(b"[" * 5000), "a")
    assert dead.headers["x-boundbox-reason"] == "too-large"
    assert "5000 bytes is over the 4096 limit" in str(dead.headers["x-boundbox-error"])


async def test_deep_nesting_and_huge_numbers_are_unparseable(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    run = await start_consumer(checked_handlers())
    for number, body in enumerate(
        [b"[" * 100_000 + b"]" * 100_000, b'{"id": ' + b"9" * 5000 + b"}"], start=1
    ):
        dead = await dead_letter_of(run, channel, raw_message(body), f"n{number}")
        assert dead.headers["x-boundbox-reason"] == "unparseable"
    assert not run.task.done()


async def test_a_routing_key_other_than_the_type_is_an_invalid_payload(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    run = await start_consumer(checked_handlers(), patterns=("#",))
    bad = event_message("tally.uncounted", {"key": "evil"})
    dead = await dead_letter_of(run, channel, bad, "b")
    assert dead.headers["x-boundbox-reason"] == "invalid-payload"
    assert await tally("evil") == 0


async def test_a_payload_its_model_refuses_is_an_invalid_payload_and_never_handled(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    run = await start_consumer(checked_handlers())
    dead = await dead_letter_of(run, channel, event_message(COUNTED, {"key": "x" * 11}), "c")
    assert dead.headers["x-boundbox-reason"] == "invalid-payload"
    assert "key: String should have at most 10 characters" in str(dead.headers["x-boundbox-error"])
    assert await tally("x" * 11) == 0


async def test_a_seen_id_with_another_body_is_a_conflicting_duplicate(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    run = await start_consumer(checked_handlers())
    event_id = str(uuid.uuid4())
    await publish(
        channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "d"}, event_id=event_id)
    )
    await publish(
        channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "d"}, event_id=event_id)
    )
    await counted(run, "duplicates_total", 1)

    other = event_message(COUNTED, {"key": "evil"}, event_id=event_id)
    dead = await dead_letter_of(run, channel, other, "e")
    assert dead.headers["x-boundbox-reason"] == "conflicting-duplicate"
    assert (await tally("d"), await tally("evil")) == (1, 0)
    entry = await InboxEntry.find_one({"consumer": "tally", "message_id": event_id})
    assert entry is not None and entry.body_sha256 and len(entry.body_sha256) == 64


async def test_an_inbox_entry_without_a_hash_matches_any_body(
    start_consumer: StartConsumer, channel: AbstractRobustChannel, names: Names
) -> None:
    event_id = str(uuid.uuid4())
    await InboxEntry(consumer="tally", message_id=event_id, event_type=COUNTED).insert()
    run = await start_consumer(checked_handlers())
    await publish(
        channel, names.exchange, COUNTED, event_message(COUNTED, {"key": "f"}, event_id=event_id)
    )
    await counted(run, "duplicates_total", 1)
    assert await tally("f") == 0
