"""Serializes transactions per database, where the embedded engine cannot isolate them.

The engine shares one SQLite connection per database between all clients, so an open
transaction would be visible to (and rolled back over) everyone else's commands. The gate
gives each database one owner at a time: a session that starts a transaction holds its
database's gate until it commits or aborts, and every other command on that database waits
its turn, first come first served. Nobody sees uncommitted writes, an abort touches nothing
but its own writes, and no client fails because another holds a transaction: it waits.

One exception keeps clients from deadlocking themselves. A command waiting at the gate holds
one of its client's pooled connections; when enough wait, the owner's own next command may
find no free connection, and the owner goes quiet. A transaction that waits to start while
the owner has been idle for `stall` seconds is therefore turned away with a WriteConflict
labelled TransientTransactionError, as real MongoDB does under contention: drivers and
`@transactional` retry it, and its connection goes back to the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

TxnKey = tuple[bytes, int]
"""A transaction: its session id (lsid) and transaction number."""


class GateBusyError(Exception):
    """A transaction could not start: the gate's owner is stalled."""


@dataclass(eq=False)
class Transaction:
    """The transaction that owns a gate, and the connections that carried its commands."""

    key: TxnKey
    database: str
    connections: set[int] = field(default_factory=set)
    in_flight: int = 0
    last_active: float = field(default_factory=time.monotonic)
    expiry: asyncio.TimerHandle | None = None

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last_active


class Gate:
    """One database's turn-taking: a FIFO queue in front of one holder at a time."""

    def __init__(self) -> None:
        self.held = False
        self.owner: Transaction | None = None  # set while a transaction holds the gate
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def acquire(self, *, stall: float | None = None) -> None:
        """Waits for the gate; with `stall`, raises GateBusyError once the owner is that idle."""
        if not self.held and not self._queue:
            self.held = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(turn), timeout=stall)
                    return
                except TimeoutError:
                    owner = self.owner
                    if stall is not None and owner is not None and owner.idle_for() >= stall:
                        raise GateBusyError from None
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # handed over just as we gave up: pass it on
            else:
                turn.cancel()
                self._queue.remove(turn)
            raise

    def release(self) -> None:
        self.owner = None
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.held = False


class Gates:
    """The gates of every database, and the open transactions that hold them."""

    def __init__(
        self, lifetime: float, stall: float, on_expired: Callable[[Transaction], None]
    ) -> None:
        self._lifetime = lifetime
        self._stall = stall
        self._on_expired = on_expired
        self._gates: dict[str, Gate] = {}
        self.open: dict[TxnKey, Transaction] = {}

    def gate(self, database: str) -> Gate:
        return self._gates.setdefault(database, Gate())

    async def begin(self, key: TxnKey, database: str, connection: int) -> Transaction:
        """Waits for the database's gate, then makes `key` its owner (or raises GateBusyError)."""
        gate = self.gate(database)
        await gate.acquire(stall=self._stall)
        txn = Transaction(key=key, database=database, connections={connection})
        txn.expiry = asyncio.get_running_loop().call_later(self._lifetime, self._on_expired, txn)
        gate.owner = txn
        self.open[key] = txn
        return txn

    def detach(self, txn: Transaction) -> bool:
        """Stops `txn` from taking further commands; False when it has already ended."""
        if self.open.get(txn.key) is not txn:
            return False
        del self.open[txn.key]
        if txn.expiry is not None:
            txn.expiry.cancel()
        return True

    def release(self, txn: Transaction) -> None:
        """Hands the gate of a detached transaction to the next in line."""
        self.gate(txn.database).release()

    def status(self) -> dict[str, dict[str, int]]:
        return {
            name: {"open": int(gate.owner is not None), "waiting": gate.waiting}
            for name, gate in self._gates.items()
        }
