"""The relay's MongoDB client, and the boundary where pymongo's errors become the relay's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError

from relay.errors import DatabaseUnavailableError
from relay.health import Dependency

type Client = AsyncMongoClient[dict[str, Any]]


def client(url: str, *, timeout: float, appname: str) -> Client:
    """A client that gives up on an unreachable server after `timeout` seconds, not 30."""
    millis = max(1, int(timeout * 1000))
    return AsyncMongoClient(
        url,
        uuidRepresentation="standard",
        tz_aware=True,
        appname=appname,
        serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis,
        socketTimeoutMS=max(millis, 30_000),
    )


def first_line(error: BaseException) -> str:
    """The gist of a driver error: its first line, without pymongo's topology dump."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    for noise in (" (configured timeouts", ", Timeout: ", ", full error: "):
        text = text.split(noise, 1)[0]
    return text


@asynccontextmanager
async def translated(state: Dependency | None = None) -> AsyncIterator[None]:
    """Raises DatabaseUnavailableError for any pymongo error in the block; reports the
    outcome to `state`, so the database is "up" exactly when commands succeed."""
    try:
        yield
    except PyMongoError as e:
        message = first_line(e)
        if state is not None:
            state.down(message)
        raise DatabaseUnavailableError(message) from e
    if state is not None:
        state.up()


async def has_change_streams(database: Any) -> bool:
    """True for a replica set or sharded cluster: where MongoDB serves change streams."""
    try:
        hello = await database.client.admin.command("hello")
    except OperationFailure:
        return False
    return "setName" in hello or hello.get("msg") == "isdbgrid"
