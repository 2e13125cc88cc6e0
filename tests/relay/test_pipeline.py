"""The relay's confirm pipeline on a real RabbitMQ: batched writes, per-message confirms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import aiormq
import pytest
from aiormq.exceptions import PublishError
from pamqp.commands import Basic

from relay.frames import UnencodableMessageError
from relay.messages import Outgoing
from relay.pipeline import Pipeline
from tests.relay.support import AMQP_URL, Consumer
from tests.support.tcp_proxy import TcpProxy


def message(n: int, *, routing_key: str = "order.placed", **fields: Any) -> Outgoing:
    return Outgoing(
        routing_key=routing_key,
        body=json.dumps({"n": n, **fields}).encode(),
        properties=Basic.Properties(
            message_id=f"m-{n}",
            headers={"aggregate_version": n},
            content_type="application/json",
            delivery_mode=2,
        ),
    )


async def confirm_channel(url: str, exchange: str) -> aiormq.Channel:
    connection = await aiormq.connect(url)
    channel = await connection.channel(publisher_confirms=True)
    await channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    return cast("aiormq.Channel", channel)


@pytest.fixture
async def channel(exchange: str, consumer: Consumer) -> AsyncIterator[aiormq.Channel]:
    channel = await confirm_channel(AMQP_URL, exchange)
    try:
        yield channel
    finally:
        await channel.connection.close()


async def test_messages_published_in_one_turn_are_confirmed_and_arrive_in_order(
    channel: aiormq.Channel, exchange: str, consumer: Consumer
) -> None:
    pipeline = Pipeline(channel, exchange)
    large = "x" * (3 * channel.max_content_size)  # split over several body frames
    outgoing = [message(n, text=large if n == 7 else "") for n in range(300)]

    confirmations = [pipeline.publish(item) for item in outgoing]

    assert all(isinstance(ack, Basic.Ack) for ack in await asyncio.gather(*confirmations))
    received = await consumer.wait_for(300)
    assert [m.message_id for m in received] == [f"m-{n}" for n in range(300)]
    assert [m.headers["aggregate_version"] for m in received] == list(range(300))
    assert received[7].body == {"n": 7, "text": large}
    assert received[8].body == {"n": 8, "text": ""}
    assert not channel.confirmations and not channel.message_id_delivery_tag


async def test_one_loop_turn_of_publishing_is_one_write(
    channel: aiormq.Channel, exchange: str
) -> None:
    pipeline = Pipeline(channel, exchange)
    queue = channel.write_queue
    handed: list[int] = []
    put_nowait = queue.put_nowait

    def recording(frame: Any) -> None:
        handed.append(len(frame.payload))
        put_nowait(frame)

    queue.put_nowait = recording  # type: ignore[method-assign,assignment]  # the writer's input
    try:
        first = [pipeline.publish(message(n)) for n in range(100)]
        await asyncio.gather(*first)
        second = [pipeline.publish(message(n)) for n in range(100, 150)]
        await asyncio.gather(*second)
    finally:
        queue.put_nowait = put_nowait  # type: ignore[method-assign]
    assert len(handed) == 2


async def test_a_returned_message_fails_alone(exchange: str) -> None:
    consumer = await Consumer(exchange, name="pipeline returns", bindings=("order.#",)).start()
    channel = await confirm_channel(AMQP_URL, exchange)
    try:
        pipeline = Pipeline(channel, exchange)
        routed = pipeline.publish(message(1))
        returned = pipeline.publish(message(2, routing_key="nowhere.at.all"))
        after = pipeline.publish(message(3))

        results = await asyncio.gather(routed, returned, after, return_exceptions=True)

        assert isinstance(results[0], Basic.Ack)
        assert isinstance(results[1], PublishError)
        assert isinstance(results[2], Basic.Ack)
        assert [m.message_id for m in await consumer.wait_for(2)] == ["m-1", "m-3"]
    finally:
        await channel.connection.close()
        await consumer.close()


@pytest.mark.parametrize(
    "bad",
    [
        message(1, routing_key="é" * 200),  # 400 bytes: longer than AMQP's short string
        Outgoing(
            routing_key="order.placed",
            body=b"{}",
            properties=Basic.Properties(message_id="m-1", headers={"set": {1, 2}}),  # type: ignore[dict-item]
        ),
    ],
    ids=["routing-key-too-long", "header-without-amqp-type"],
)
async def test_a_message_amqp_cannot_encode_is_refused_and_sends_nothing(
    channel: aiormq.Channel, exchange: str, consumer: Consumer, bad: Outgoing
) -> None:
    pipeline = Pipeline(channel, exchange)
    tag = channel.delivery_tag

    with pytest.raises(UnencodableMessageError):
        pipeline.publish(bad)

    assert channel.delivery_tag == tag and not channel.confirmations
    assert isinstance(await pipeline.publish(message(2)), Basic.Ack)
    assert [m.message_id for m in await consumer.wait_for(1)] == ["m-2"]


async def test_a_cut_connection_fails_every_pending_confirm(exchange: str) -> None:
    proxy = await TcpProxy.in_front_of(AMQP_URL, default_port=5672)
    channel = await confirm_channel(proxy.routed(AMQP_URL), exchange)
    try:
        pipeline = Pipeline(channel, exchange)
        await proxy.cut()
        try:
            pending = [pipeline.publish(message(n)) for n in range(50)]
        except aiormq.exceptions.ChannelInvalidStateError:
            pending = []  # the channel already knew: refused at once, equally fine
        async with asyncio.timeout(10):  # settled, never left hanging
            results = await asyncio.gather(*pending, return_exceptions=True)
        assert all(isinstance(result, BaseException) for result in results)
    finally:
        await proxy.close()
        if not channel.connection.is_closed:
            await channel.connection.close()
        direct = await confirm_channel(AMQP_URL, exchange)
        await direct.exchange_delete(exchange)
        await direct.connection.close()


async def test_an_aiormq_without_the_bookkeeping_it_relies_on_is_named_at_once(
    channel: aiormq.Channel, exchange: str
) -> None:
    class Renamed:  # as a later aiormq might have it: the same channel, one attribute gone
        def __getattr__(self, name: str) -> Any:
            if name == "message_id_delivery_tag":
                raise AttributeError(name)
            return getattr(channel, name)

    with pytest.raises(RuntimeError, match=r"no Channel\.message_id_delivery_tag.*aiormq>=7\.2,<8"):
        Pipeline(cast("aiormq.Channel", Renamed()), exchange)
    Pipeline(channel, exchange)  # the installed one has it all


async def test_batches_reach_a_full_writer_queue_in_order() -> None:
    """The connection's queue to its writer holds a few frames; past them, order still holds."""
    loop = asyncio.get_running_loop()
    writer_queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
    channel = SimpleNamespace(  # aiormq's channel bookkeeping, with a writer that is behind
        publisher_confirms=True,
        number=1,
        connection=SimpleNamespace(connection_tune=SimpleNamespace(frame_max=4096)),
        is_closed=False,
        delivery_tag=0,
        confirmations={},
        message_id_delivery_tag={},
        write_queue=writer_queue,
        create_future=loop.create_future,
    )
    pipeline = Pipeline(cast("aiormq.Channel", channel), "x")
    pipeline.publish(message(0))
    await asyncio.sleep(0)  # batch 0 fills the queue
    pipeline.publish(message(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # batch 1 waits for room
    pipeline.publish(message(2))  # batch 2 is handed over in this turn...
    written = [writer_queue.get_nowait()]  # ...as room is made, but batch 1 goes first
    written += [await asyncio.wait_for(writer_queue.get(), 5) for _ in range(2)]
    assert [message(n).body in frame.payload for n, frame in enumerate(written)] == [True] * 3
    assert sorted(channel.confirmations) == [1, 2, 3]
