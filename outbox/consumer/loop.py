"""The consume loop: messages from a (robust) queue, in order, until `stopping` is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelInvalidStateError, MessageProcessError

from outbox.consumer import tracing
from outbox.consumer.waiting import pause
from outbox.consumer.worker import BROKER_ERRORS, Worker

log = logging.getLogger("boundbox.consumer")


async def consume(
    queue: AbstractQueue,
    worker: Worker,
    stopping: asyncio.Event,
    consuming: asyncio.Event | None = None,
    finishing: asyncio.Event | None = None,
) -> None:
    """Feeds the queue's messages to `worker` until `stopping`; the message in hand finishes.

    `consuming` is set while the subscription is in place (readiness). Once `finishing` is
    set, the subscription is cancelled and the messages already delivered are still applied
    before the loop ends (an ordered queue given to another instance: its new reader finds
    their versions applied instead of waiting for them to come round again).

    The broker subscription is restored by the robust channel after a reconnection. Messages
    that arrived before the connection broke cannot be settled any more: they are dropped
    here, and the broker delivers them again.

    No message ends the loop: should settling one raise (a bug), it is requeued after a pause,
    and the queue's delivery limit dead-letters it in the end.
    """
    inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    handing_back = False

    async def receive(message: AbstractIncomingMessage) -> None:
        inbox.put_nowait(message)
        if handing_back:  # delivered while the loop was ending: straight back to the queue
            await _requeue(inbox)

    tag = await queue.consume(receive)
    if consuming is not None:
        consuming.set()
    cancelled = asyncio.Event()
    watcher = (
        None
        if finishing is None
        else asyncio.ensure_future(_cancel_when(finishing, queue, tag, cancelled))
    )
    try:
        while True:
            message: AbstractIncomingMessage | None = None
            if cancelled.is_set() and not stopping.is_set():
                if inbox.empty():
                    break
                message = inbox.get_nowait()
            elif (message := await _next(inbox, stopping, cancelled)) is None:
                if stopping.is_set():
                    break
                continue  # cancelled: what was delivered before the cancel, then out
            batch = [m for m in _at_hand(inbox, message, worker.consumer.batch) if not _stale(m)]
            if not batch:
                continue
            try:
                await worker.handle_all(batch)
            except Exception:
                log.exception(
                    "handling message %s failed, requeueing it trace_id=%s",
                    ", ".join(str(m.message_id) for m in batch),
                    tracing.trace_id(message),
                )
                await pause(1.0, stopping)
                for unsettled in batch:  # those settled before the error refuse a second answer
                    with contextlib.suppress(*BROKER_ERRORS, MessageProcessError):
                        await unsettled.nack(requeue=True)
    finally:
        if consuming is not None:
            consuming.clear()
        handing_back = True
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if not cancelled.is_set():
            with contextlib.suppress(*BROKER_ERRORS, asyncio.TimeoutError):
                await queue.cancel(tag, timeout=5)
        await _requeue(inbox)


async def _cancel_when(
    finishing: asyncio.Event, queue: AbstractQueue, tag: str, cancelled: asyncio.Event
) -> None:
    await finishing.wait()
    with contextlib.suppress(*BROKER_ERRORS, asyncio.TimeoutError):
        await queue.cancel(tag, timeout=5)
    cancelled.set()


async def _next(
    inbox: asyncio.Queue[AbstractIncomingMessage], *until: asyncio.Event
) -> AbstractIncomingMessage | None:
    """The next message, or None once one of the `until` events is set."""
    if any(event.is_set() for event in until):
        return None
    if not inbox.empty():
        return inbox.get_nowait()
    getting = asyncio.ensure_future(inbox.get())
    waiting = [asyncio.ensure_future(event.wait()) for event in until]
    try:
        await asyncio.wait({getting, *waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*waiting, getting):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if getting.cancelled():
        return None
    message = getting.result()
    if any(event.is_set() for event in until):
        inbox.put_nowait(message)  # handed back with the rest, or applied while finishing
        return None
    return message


def _at_hand(
    inbox: asyncio.Queue[AbstractIncomingMessage], first: AbstractIncomingMessage, most: int
) -> list[AbstractIncomingMessage]:
    """`first` and up to `most` - 1 messages already delivered: a batch never waits to fill."""
    batch = [first]
    while len(batch) < most and not inbox.empty():
        batch.append(inbox.get_nowait())
    return batch


def _stale(message: AbstractIncomingMessage) -> bool:
    try:
        message.channel  # noqa: B018  # raises once the message's channel is closed
    except ChannelInvalidStateError:
        return True
    return False


async def _requeue(inbox: asyncio.Queue[AbstractIncomingMessage]) -> None:
    """Hands back what was prefetched but not handled (closing the channel would too)."""
    while not inbox.empty():
        message = inbox.get_nowait()
        if not _stale(message):
            with contextlib.suppress(*BROKER_ERRORS):
                await message.nack(requeue=True)
