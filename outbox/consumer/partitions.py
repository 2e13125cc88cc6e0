"""Ordered mode's consume loop: reads the queues `membership` gives this instance, and follows
the changes.

Each queue taken is read by a consume loop of its own (its own worker and stop event), so a
queue given up finishes the message in hand, cancels its subscription and hands back what it
had prefetched, while the other queues go on. A MongoDB outage keeps the queues read until
then: the heartbeat is retried, and the single-active-consumer queues keep order meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aio_pika.abc import AbstractQueue
from pymongo.errors import PyMongoError

from outbox.consumer.failures import describe
from outbox.consumer.loop import consume
from outbox.consumer.membership import Membership, assigned
from outbox.consumer.waiting import pause
from outbox.consumer.worker import Worker

log = logging.getLogger("boundbox.consumer")

SUBSCRIBE_SECONDS = 10.0  # a subscription slower than this is waited for no more

WorkerFactory = Callable[[asyncio.Event], Worker]
"""A worker that stops waiting once the given event is set."""


@dataclass(frozen=True, slots=True)
class _Reading:
    stop: asyncio.Event  # hand back what was prefetched, now
    finish: asyncio.Event  # apply what was prefetched, then end
    task: asyncio.Task[None]


class Partitions:
    """The queues of one ordered consumer instance, spread by `membership`."""

    def __init__(
        self,
        queues: Sequence[AbstractQueue],
        *,
        membership: Membership,
        workers: WorkerFactory,
        heartbeat: float,
    ) -> None:
        self.queues = tuple(queues)
        self.membership = membership
        self.workers = workers
        self.heartbeat = heartbeat
        self.reading: dict[int, _Reading] = {}
        self.leaving: list[_Reading] = []  # given up, finishing what they hold
        self._unreachable = False

    async def run(self, stopping: asyncio.Event, consuming: asyncio.Event | None = None) -> None:
        """Reads this instance's share until `stopping`; `consuming` is set once it has one."""
        try:
            while not stopping.is_set():
                self._forget_ended()
                wanted = await self._wanted()
                if wanted is not None:
                    await self._read(wanted)
                    if consuming is not None:
                        consuming.set()
                if not await pause(self.heartbeat, stopping):
                    break
        finally:
            if consuming is not None:
                consuming.clear()
            readings = [*self.reading.values(), *self.leaving]
            for reading in readings:
                reading.stop.set()
            for reading in readings:  # each finishes its message in hand, hands back the rest
                with contextlib.suppress(Exception):
                    await reading.task
            with contextlib.suppress(PyMongoError):
                await self.membership.leave()

    async def _wanted(self) -> set[int] | None:
        try:
            members = await self.membership.beat()
        except PyMongoError as e:
            if not self._unreachable:
                self._unreachable = True
                log.warning("consumer heartbeat failed, reading the same queues: %s", describe(e))
            return None
        if self._unreachable:
            self._unreachable = False
            log.warning("consumer heartbeat recorded again")
        return set(assigned(len(self.queues), members, self.membership.member))

    async def _read(self, wanted: set[int]) -> None:
        given_up, taken = set(self.reading) - wanted, wanted - set(self.reading)
        if not given_up and not taken:
            return
        for index in given_up:  # its next reader waits (single active consumer) till it ends
            reading = self.reading.pop(index)
            reading.finish.set()
            self.leaving.append(reading)
        started = []
        for index in sorted(taken):
            stop, finish, subscribed = asyncio.Event(), asyncio.Event(), asyncio.Event()
            queue, worker = self.queues[index], self.workers(stop)
            task = asyncio.create_task(consume(queue, worker, stop, subscribed, finish))
            self.reading[index] = _Reading(stop, finish, task)
            started.append(_subscribed(task, subscribed))
        await asyncio.gather(*started)
        log.info(
            "consumer %s reads %d of %d queues: %s",
            self.membership.consumer,
            len(self.reading),
            len(self.queues),
            ", ".join(self.queues[index].name for index in sorted(self.reading)) or "none",
        )

    def _forget_ended(self) -> None:
        """Forgets queues whose loop ended on an error: they are read again at once."""
        for reading in self.leaving:
            if reading.task.done() and not reading.task.cancelled():
                reading.task.exception()  # retrieved: it ended as it was asked to, either way
        self.leaving = [reading for reading in self.leaving if not reading.task.done()]
        for index, reading in list(self.reading.items()):
            if reading.task.done():
                del self.reading[index]
                error = None if reading.task.cancelled() else reading.task.exception()
                log.warning("reading %s ended (%s), again", self.queues[index].name, error)


async def _subscribed(task: asyncio.Task[None], subscribed: asyncio.Event) -> None:
    """Returns once the loop `task` has subscribed, or has ended, or after SUBSCRIBE_SECONDS."""
    waiting = asyncio.ensure_future(subscribed.wait())
    try:
        await asyncio.wait(
            {task, waiting}, timeout=SUBSCRIBE_SECONDS, return_when="FIRST_COMPLETED"
        )
    finally:
        waiting.cancel()
