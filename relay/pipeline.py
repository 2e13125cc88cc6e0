"""Publishing on an aiormq confirm channel with one socket write per event-loop turn.

aiormq's `basic_publish` takes the channel lock, opens a timeout scope, marshals three frames
and queues them for the connection's writer, which writes each message on its own: one
`send()` per message. For a relay that publishes hundreds of messages at once, that costs more
CPU than anything else it does. `Pipeline.publish` keeps what `basic_publish` does for a
confirm channel (the next delivery tag, and a confirmation future that the channel itself
settles on an ack, a nack, a return or its closing) but only buffers the frames: everything
published in one loop turn leaves in a single write, in delivery-tag order.

It relies on aiormq 7's channel bookkeeping (`delivery_tag`, `confirmations`,
`message_id_delivery_tag`, `write_queue`), which is why aiormq is pinned below 8; the relay's
tests cover acks, returns and lost connections through it. The channel must be used for
nothing but this pipeline's publishing.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from typing import Any

import aiormq
from aiormq.abc import ChannelFrame
from aiormq.exceptions import ChannelInvalidStateError

from relay.frames import PublishFrames
from relay.messages import Outgoing

_CHANNEL_BOOKKEEPING = (
    "delivery_tag",
    "confirmations",
    "message_id_delivery_tag",
    "write_queue",
    "create_future",
)


class Pipeline:
    def __init__(self, channel: aiormq.Channel, exchange: str) -> None:
        if missing := [name for name in _CHANNEL_BOOKKEEPING if not hasattr(channel, name)]:
            raise RuntimeError(
                f"this aiormq ({version('aiormq')}) has no Channel.{missing[0]}, which the "
                "relay needs: install aiormq>=7.2,<8 (the range boundbox declares)"
            )
        if not channel.publisher_confirms:
            raise ValueError("the pipeline needs a channel in confirm mode")
        self._channel = channel
        self._encoder = PublishFrames(
            channel=channel.number,
            exchange=exchange,
            frame_max=channel.connection.connection_tune.frame_max,
        )
        self._frames: list[bytes] = []
        self._putting: asyncio.Task[None] | None = None

    def publish(self, outgoing: Outgoing) -> asyncio.Future[Any]:
        """Queues a mandatory publish; the future settles with the broker's ack, or raises.

        It raises aiormq's PublishError (returned), DeliveryError (nacked), or the channel's
        closing reason. UnencodableMessageError is raised at once, and nothing is sent.
        """
        channel = self._channel
        if channel.is_closed:
            raise ChannelInvalidStateError("the channel is closed")
        frames = self._encoder.encode(outgoing)
        channel.delivery_tag += 1
        delivery_tag = channel.delivery_tag
        confirmation = channel.create_future()
        channel.confirmations[delivery_tag] = confirmation
        message_id = outgoing.properties.message_id
        if message_id:  # how the channel matches a returned message to its confirmation
            channel.message_id_delivery_tag[message_id] = delivery_tag

            def forget(_: asyncio.Future[Any]) -> None:
                if channel.message_id_delivery_tag.get(message_id) == delivery_tag:
                    del channel.message_id_delivery_tag[message_id]

            confirmation.add_done_callback(forget)
        if not self._frames:  # the turn's first message: its frames leave when the turn ends
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames += frames
        return confirmation

    def _flush(self) -> None:
        """Hands this turn's frames to the connection's writer, after any earlier ones."""
        batch = ChannelFrame(payload=b"".join(self._frames), should_close=False)
        self._frames = []
        queue = self._channel.write_queue
        if self._putting is None or self._putting.done():
            try:
                queue.put_nowait(batch)
                return
            except asyncio.QueueFull:
                self._putting = None
        self._putting = asyncio.create_task(self._put(batch, after=self._putting))

    async def _put(self, batch: ChannelFrame, *, after: asyncio.Task[None] | None) -> None:
        if after is not None:
            await asyncio.wait([after])  # in order, whatever became of the earlier put
        await self._channel.write_queue.put(batch)
