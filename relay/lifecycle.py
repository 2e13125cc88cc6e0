"""The relay's lifecycle: prepare the database, run the tasks, shut down in order."""

from __future__ import annotations

import asyncio
import logging

from outbox.events import utc_now
from relay.errors import DatabaseUnavailableError, RelayStartError
from relay.health import Backoff, wait_for_event
from relay.leases import LeaseKeeper
from relay.loop import Relay
from relay.metrics import Metrics
from relay.store import OutboxStore
from relay.wakeup import Waker

log = logging.getLogger("boundbox.relay")
LAG_INTERVAL_SECONDS = 5.0


async def prepare(store: OutboxStore, leases: LeaseKeeper, stop: asyncio.Event) -> bool:
    """Indexes and lease documents, retried while MongoDB is unreachable; False on stop."""
    backoff = Backoff(first=0.2, ceiling=5.0)
    while not stop.is_set():
        try:
            await store.prepare()
            await leases.prepare()
        except DatabaseUnavailableError:
            await backoff.sleep(stop)  # the store logged the outage
            continue
        return True
    return False


async def follow_lag(store: OutboxStore, metrics: Metrics, stop: asyncio.Event) -> None:
    """Keeps the outbox lag gauge current (age of the oldest pending event)."""
    while not stop.is_set():
        try:
            oldest = await store.oldest_pending()
            lag = 0.0 if oldest is None else (utc_now() - oldest).total_seconds()
            metrics.lag_seconds.set(max(0.0, lag))
        except DatabaseUnavailableError:
            pass  # the loop reports the database's state
        await wait_for_event(stop, LAG_INTERVAL_SECONDS)


async def supervise(
    relay: Relay,
    *,
    leases: LeaseKeeper,
    waker: Waker,
    store: OutboxStore,
    metrics: Metrics,
    stop: asyncio.Event,
) -> None:
    """Runs the relay's tasks until `stop` (or a crash), then shuts down in order: the batch
    in flight is finished and marked, then the leases are given back."""
    main = asyncio.create_task(relay.run(stop), name="relay-loop")
    helpers = [
        asyncio.create_task(leases.run(stop), name="relay-leases"),
        asyncio.create_task(waker.watch(stop), name="relay-watch"),
        asyncio.create_task(follow_lag(store, metrics, stop), name="relay-lag"),
    ]
    stopping = asyncio.create_task(stop.wait(), name="relay-stop")
    try:
        running = {main, stopping, *helpers}
        while main in running and stopping in running:  # a helper may end early: the watcher
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if any(not task.cancelled() and task.exception() for task in done):
                break
    finally:
        stop.set()
        waker.wake()
        await asyncio.gather(main, return_exceptions=True)  # the batch in flight completes
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, stopping, return_exceptions=True)
        try:
            await leases.release_all()
        except DatabaseUnavailableError as e:
            log.warning("leases not released (they expire on their own): %s", e)
    for task in (main, *helpers):
        if not task.cancelled() and (error := task.exception()) is not None:
            if isinstance(error, RelayStartError):
                raise error  # the relay cannot run as configured: its own message says why
            raise RuntimeError(f"relay task {task.get_name()} failed") from error
