"""Transactions on the bound session, retried the way MongoDB's drivers retry them.

- `@transactional()` runs a whole unit of work in a transaction and retries it while MongoDB
  labels the failure `TransientTransactionError` (a write conflict, a failover), except when
  no server can be selected at all.
- The commit alone is retried while its outcome is `UnknownTransactionCommitResult`.
- Both back off exponentially with full jitter, inside one time budget.
- Any other exception aborts the transaction and propagates unchanged, never retried.
- Inside an active transaction, both forms join it: no nested start, no second commit.
- Writes queued with `insert_later` / `update_later` (outbox.writes) are sent just before the
  commit, all in one round trip where the server allows; their failure is the attempt's.

`async with transaction():` is the same scope for one attempt: a block cannot be re-run, so it
retries only its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from outbox.errors import NoTransactionError, TransactionFailedError
from outbox.session import bound_session, session_scope
from outbox.writes import Writes, writes_scope

TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"
MAX_TIME_MS_EXPIRED = 50


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how fast to retry; the budget stays well under MongoDB's 120 s."""

    budget_seconds: float = 30.0
    first_backoff: float = 0.002
    max_backoff: float = 0.5

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, first * 2**attempt)]."""
        return random.uniform(0, min(self.max_backoff, self.first_backoff * 2**attempt))


_default_policy = RetryPolicy()


def set_default_policy(policy: RetryPolicy) -> None:
    """The policy of every transaction that names none (the composition root sets it)."""
    global _default_policy
    _default_policy = policy


def default_policy() -> RetryPolicy:
    """The policy of every transaction that names none."""
    return _default_policy


def in_transaction() -> bool:
    """True inside an active transaction of the bound session."""
    session = bound_session()
    return session is not None and session.in_transaction


def _labelled(error: BaseException, label: str) -> bool:
    return isinstance(error, PyMongoError) and error.has_error_label(label)


def _retryable(error: BaseException) -> bool:
    """Transient, unless no server could even be selected: that outage outlasts any backoff
    worth spending inside a request, so the caller hears of it at once (an API answers 503)."""
    return _labelled(error, TRANSIENT) and not isinstance(error, ServerSelectionTimeoutError)


class _Clock:
    def __init__(self, policy: RetryPolicy | None) -> None:
        self.policy = policy = policy or _default_policy
        self.deadline = time.monotonic() + policy.budget_seconds
        self.attempt = 0

    async def retry(self, error: PyMongoError) -> None:
        """Sleeps before the next attempt, or gives up when the budget is spent."""
        self.attempt += 1
        delay = self.policy.backoff(self.attempt)
        if time.monotonic() + delay >= self.deadline:
            raise TransactionFailedError(
                f"transaction still failing after {self.attempt} attempts in "
                f"{self.policy.budget_seconds:g}s: {error}"
            ) from error
        await asyncio.sleep(delay)


async def _commit(session: AsyncClientSession, clock: _Clock) -> None:
    while True:
        try:
            await session.commit_transaction()
            return
        except PyMongoError as e:
            if not _labelled(e, UNKNOWN_COMMIT) or getattr(e, "code", None) == MAX_TIME_MS_EXPIRED:
                raise
            await clock.retry(e)


async def _abort(session: AsyncClientSession) -> None:
    if session.in_transaction:
        # An abort that fails leaves nothing behind: the server drops the transaction anyway.
        with contextlib.suppress(PyMongoError):
            await session.abort_transaction()


async def _send(session: AsyncClientSession, writes: Writes) -> None:
    """Sends the attempt's queued writes into its transaction, before the commit."""
    if session.in_transaction:
        await writes.send()
    elif writes.pending:
        raise NoTransactionError(
            "the unit of work ended its transaction itself with writes still queued"
        )


async def run_in_transaction[T](
    unit_of_work: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy | None = None,
    **transaction_kwargs: Any,
) -> T:
    """Runs `unit_of_work` in a transaction on the bound (or a new) session, with retries."""
    if in_transaction():
        return await unit_of_work()
    async with session_scope() as session:
        clock = _Clock(policy)
        while True:
            await session.start_transaction(**transaction_kwargs)
            try:
                with writes_scope() as writes:
                    result = await unit_of_work()
                    await _send(session, writes)
            except BaseException as e:
                await _abort(session)
                if not _retryable(e):
                    raise
                await clock.retry(e)  # type: ignore[arg-type]  # labelled: a PyMongoError
                continue
            if not session.in_transaction:
                return result  # the unit of work ended the transaction itself
            try:
                await _commit(session, clock)
            except PyMongoError as e:
                if not _retryable(e):
                    raise
                await clock.retry(e)
                continue
            return result


def transactional[**P, T](
    *, policy: RetryPolicy | None = None, **transaction_kwargs: Any
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorator: the function is a unit of work, run in one (retried) bound transaction.

    Keyword arguments go to `AsyncClientSession.start_transaction` (read_concern,
    write_concern, read_preference, max_commit_time_ms). The signature is kept, so FastAPI
    dependency injection and OpenAPI see the original parameters.
    """

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await run_in_transaction(
                lambda: fn(*args, **kwargs), policy=policy, **transaction_kwargs
            )

        return wrapper

    return decorate


@asynccontextmanager
async def transaction(
    *, policy: RetryPolicy | None = None, **transaction_kwargs: Any
) -> AsyncIterator[AsyncClientSession]:
    """One attempt of a bound transaction: commits when the block ends, aborts on any error."""
    if in_transaction():
        session = bound_session()
        assert session is not None
        yield session
        return
    async with session_scope() as session:
        await session.start_transaction(**transaction_kwargs)
        try:
            with writes_scope() as writes:
                yield session
                await _send(session, writes)
        except BaseException:
            await _abort(session)
            raise
        if session.in_transaction:
            await _commit(session, _Clock(policy))
