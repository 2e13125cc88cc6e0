"""Bound sessions: service code never sees a session, Beanie and pymongo find it implicitly.

`session_scope()` starts a MongoDB session and binds it with pymongo's
`AsyncClientSession.bind()`, a ContextVar, so each asyncio task (each request) has its own.
It works as `async with session_scope():` and as the decorator `@auto_session()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from outbox.errors import NoSessionError, NotConfiguredError

_client: AsyncMongoClient[Any] | None = None
_session: ContextVar[AsyncClientSession | None] = ContextVar("boundbox_session", default=None)


def use_client(client: AsyncMongoClient[Any] | None) -> None:
    """Gives the library the client its sessions come from (the composition root calls this)."""
    global _client
    _client = client


def get_client() -> AsyncMongoClient[Any]:
    if _client is None:
        raise NotConfiguredError(
            "no MongoDB client configured: call outbox.use_client(client) at start-up"
        )
    return _client


def bound_session() -> AsyncClientSession | None:
    """The session bound to the current context, if any."""
    return _session.get()


def current_session() -> AsyncClientSession:
    """The session bound to the current context; raises NoSessionError when there is none."""
    session = _session.get()
    if session is None:
        raise NoSessionError("no session is bound here: use @auto_session() or @transactional()")
    return session


@asynccontextmanager
async def session_scope(**session_kwargs: Any) -> AsyncIterator[AsyncClientSession]:
    """Binds a new session for the block, or joins the one already bound.

    Keyword arguments go to `AsyncMongoClient.start_session` (e.g. `causal_consistency`).
    """
    existing = _session.get()
    if existing is not None:
        yield existing
        return
    async with get_client().start_session(**session_kwargs) as session:
        async with session.bind(end_session=False):
            token = _session.set(session)
            try:
                yield session
            finally:
                _session.reset(token)


auto_session = session_scope
"""The decorator form: `@auto_session()` runs the function inside `session_scope()`."""
