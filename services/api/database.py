"""The API's MongoDB client, bound to Beanie and the outbox; startup survives MongoDB being down.

The process starts even when MongoDB is unreachable: it answers 503 (and /readyz says not
ready) and keeps trying to initialise in the background, instead of crash-looping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure

import outbox
from boundbox import runtime
from boundbox.errors import BoundboxError
from boundbox.settings import Settings
from services.store import DOCUMENT_MODELS

log = logging.getLogger("boundbox.api")

APP_NAME = "boundbox-api"
MAX_RETRY_DELAY = 30.0


class DatabaseUnavailableError(BoundboxError):
    """MongoDB cannot be reached (or the API has not finished connecting): answer 503."""


class Database:
    """One MongoDB client and database; `ready` once Beanie is initialised on it."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], name: str) -> None:
        self.client = client
        self.name = name
        self.ready = False
        self._retrying: asyncio.Task[None] | None = None

    async def start(self) -> None:
        outbox.use_client(self.client)
        try:
            await self._initialise()
        except ConnectionFailure as e:
            log.warning("MongoDB unreachable at start-up, retrying in the background: %s", e)
            self._retrying = asyncio.create_task(self._keep_trying(), name="mongodb-init")

    async def _initialise(self) -> None:
        await init_beanie(
            database=self.client[self.name],
            document_models=[*outbox.DOCUMENT_MODELS, *DOCUMENT_MODELS],
        )
        self.ready = True
        log.info("connected to MongoDB database %r", self.name)

    async def _keep_trying(self) -> None:
        delay = 0.5
        while not self.ready:
            await asyncio.sleep(delay)
            try:
                await self._initialise()
            except ConnectionFailure as e:
                log.warning("MongoDB still unreachable: %s", e)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def ensure_ready(self) -> None:
        if not self.ready:
            raise DatabaseUnavailableError("MongoDB is not reachable yet")

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except ConnectionFailure:
            return False
        return True

    async def close(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
        with contextlib.suppress(outbox.NotConfiguredError):
            if outbox.get_client() is self.client:
                outbox.use_client(None)
        await self.client.close()


@asynccontextmanager
async def connect(
    settings: Settings, *, server_selection_timeout_ms: int
) -> AsyncIterator[Database]:
    """The database of `settings`, for the lifetime of the block (the app's lifespan)."""
    client = runtime.mongo_client(
        settings.mongodb_url,
        appname=APP_NAME,
        server_selection_timeout_ms=server_selection_timeout_ms,
    )
    database = Database(client, settings.mongodb_db)
    try:
        await database.start()
        yield database
    finally:
        await database.close()
