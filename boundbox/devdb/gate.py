"""Serializes transactions per database, where the embedded engine cannot isolate them.

The engine shares one SQLite connection per database between all clients, so an open
transaction would be visible to (and rolled back over) everyone else's commands. The gate
gives each database one owner at a time: a session that starts a transaction holds its
database's gate until it commits or aborts, and every other session's commands on that
database wait their turn. The result is serializable: nobody sees uncommitted writes, an
abort touches nothing but its own writes, and no client fails because another holds a
transaction; it only waits, at most for the transaction lifetime.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TxnKey = tuple[bytes, int]
"""A transaction: its session id (lsid) and transaction number."""


@dataclass
class Transaction:
    """The transaction that owns a gate, and the connections that carried its commands."""

    key: TxnKey
    database: str
    started: float = field(default_factory=time.monotonic)
    connections: set[int] = field(default_factory=set)
    expiry: asyncio.TimerHandle | None = None


class Gate:
    """One database's lock, held by one open transaction at a time (FIFO among waiters)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: Transaction | None = None
        self.waiting = 0

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1


class Gates:
    """The gates of every database, and the open transactions that hold them."""

    def __init__(self, lifetime: float, on_expired: Callable[[Transaction], None]) -> None:
        self._lifetime = lifetime
        self._on_expired = on_expired
        self._gates: dict[str, Gate] = {}
        self.open: dict[TxnKey, Transaction] = {}

    def gate(self, database: str) -> Gate:
        return self._gates.setdefault(database, Gate())

    async def begin(self, key: TxnKey, database: str, connection: int) -> Transaction:
        """Waits for the database's gate, then makes `key` its owner."""
        gate = self.gate(database)
        await gate.acquire()
        txn = Transaction(key=key, database=database, connections={connection})
        txn.expiry = asyncio.get_running_loop().call_later(
            self._lifetime, self._on_expired, txn
        )
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
        """Hands the gate of a detached transaction to the next waiter."""
        gate = self.gate(txn.database)
        gate.owner = None
        gate.lock.release()

    def status(self) -> dict[str, dict[str, int]]:
        return {
            name: {"open": int(gate.owner is not None), "waiting": gate.waiting}
            for name, gate in self._gates.items()
        }
