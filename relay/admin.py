"""What `boundbox outbox status` and `boundbox outbox retry-failed` do, apart from printing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from boundbox.settings import Settings
from outbox.events import EventStatus, utc_now
from relay import mongo
from relay.store import OutboxStore


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    failed: int
    oldest_pending: datetime | None

    @property
    def lag_seconds(self) -> float:
        """Age of the oldest pending event; 0 when nothing is pending."""
        if self.oldest_pending is None:
            return 0.0
        return max(0.0, (utc_now() - self.oldest_pending).total_seconds())


# A command someone waits for at a prompt: a server that is up answers its first hello within
# milliseconds, so one that has not after this long is reported as down (RELAY_DB_TIMEOUT, the
# relay's patience with a busy server, caps it).
ADMIN_DB_TIMEOUT = 1.0


def _client(settings: Settings) -> mongo.Client:
    return mongo.client(
        settings.mongodb_url,
        timeout=min(ADMIN_DB_TIMEOUT, settings.relay_db_timeout),
        appname="boundbox-outbox",
    )


def _store(client: mongo.Client, settings: Settings) -> OutboxStore:
    return OutboxStore(
        client[settings.mongodb_db], retention_seconds=settings.relay_retention_seconds or None
    )


async def outbox_status(settings: Settings) -> OutboxStatus:
    """Raises DatabaseUnavailableError when MongoDB cannot be reached."""
    client = _client(settings)
    try:
        store = _store(client, settings)
        return OutboxStatus(
            pending=await store.count(EventStatus.PENDING),
            failed=await store.count(EventStatus.FAILED),
            oldest_pending=await store.oldest_pending(),
        )
    finally:
        await client.close()


async def retry_failed(settings: Settings) -> int:
    """Re-queues every parked event; returns how many. Raises DatabaseUnavailableError."""
    client = _client(settings)
    try:
        return await _store(client, settings).requeue_failed()
    finally:
        await client.close()
