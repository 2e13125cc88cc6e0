"""The dev database server: connections, sessions and transactions around the store.

Every command runs on the event loop thread, and the store never awaits, so a command sees and
changes the store atomically. A transaction holds nothing but its snapshot and staged writes:
other clients read the last committed state at once, and a conflicting write fails with
WriteConflict (TransientTransactionError) as on MongoDB. The server aborts transactions that
outlive their lifetime or whose client went away, answers commit retries of committed
transactions, and supports mongod's `failCommand` failpoint for fault-injection tests.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import bson
from bson import ObjectId

from devdb import errors, failpoints, wire
from devdb.bsonvalues import CODEC
from devdb.commands.context import Context, Cursors
from devdb.registry import HANDLERS, IN_TRANSACTION, UNGATED
from devdb.store.engine import Blocked, Store
from devdb.store.transactions import Transaction, TxnKey
from devdb.ttl import TtlMonitor

log = logging.getLogger("devdb")

MAX_MESSAGE_BYTES = 48_000_000
ORPHAN_GRACE_SECONDS = 1.0
REMEMBERED_COMMITS = 10_000


class DevDatabase:
    """A MongoDB-compatible server for development and tests."""

    def __init__(
        self,
        *,
        data_dir: Path | None,
        transaction_lifetime: float = 60.0,
        ttl_interval: float = 60.0,
    ) -> None:
        self.data_dir = data_dir
        self.store = Store(data_dir)
        self.cursors = Cursors()
        self.lifetime = transaction_lifetime
        self.writers: set[asyncio.StreamWriter] = set()
        self.advertised = "127.0.0.1:27017"
        self.process_id = ObjectId()
        self.connection_id = 0
        self._ttl = TtlMonitor(self.store, ttl_interval)
        self._failpoint: failpoints.FailCommand | None = None
        self._committed: OrderedDict[TxnKey, None] = OrderedDict()
        self._connection_ids = itertools.count(1)
        self._app_names: dict[int, str] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.closing = asyncio.Event()
        """Set by `close`: awaitable hellos answer at once."""

    async def start(self, host: str, port: int) -> asyncio.Server:
        try:
            server = await asyncio.start_server(self._serve_connection, host, port)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise errors.DevDatabaseError(
                    f"port {port} on {host} is already in use: stop what listens there "
                    "or choose another port with --port"
                ) from None
            raise errors.DevDatabaseError(f"cannot listen on {host}:{port}: {e.strerror}") from None
        self.advertised = f"{host}:{port}"
        self._spawn(self._ttl.run())
        return server

    async def close(self) -> None:
        """Aborts open transactions, closes clients and the data file."""
        self.closing.set()
        for txn in list(self.store.transactions.values()):
            self._abort(txn)
        for writer in list(self.writers):
            writer.close()
        for task in list(self._background):
            task.cancel()
        self.store.close()

    # -- connections -------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = next(self._connection_ids)
        self.writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(16)
                length, request_id, _, opcode = wire.HEADER.unpack(header)
                if not 16 < length <= MAX_MESSAGE_BYTES:
                    log.warning("closing connection %d: bad message length %d", connection, length)
                    return
                payload = await reader.readexactly(length - 16)
                try:
                    request = wire.parse(request_id, opcode, payload)
                except wire.ProtocolError as e:
                    log.warning("closing connection %d: %s", connection, e)
                    return
                document = await self._command(connection, request)
                if document is None:
                    return
                if not request.more_to_come:
                    writer.write(wire.reply(request, document))
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            self._app_names.pop(connection, None)
            writer.close()
            self._forget_connection(connection)

    # -- commands ----------------------------------------------------------------------

    async def _command(self, connection: int, request: wire.Request) -> dict[str, Any] | None:
        body = request.body
        if not body:
            return errors.CommandError(59, "CommandNotFound", "no command given").reply()
        name = next(iter(body))
        if name in ("hello", "isMaster", "ismaster"):
            app = (body.get("client") or {}).get("application") or {}
            if "name" in app:
                self._app_names[connection] = str(app["name"])
        if name == "configureFailPoint":
            return self._configure_failpoint(body)
        if name == "devdbStatus":
            return {"ok": 1, "open": len(self.store.transactions), "ts": self.store.ts}
        failpoint = self._failpoint
        if (
            name not in UNGATED
            and failpoint is not None
            and failpoint.applies_to(name, self._app_names.get(connection))
        ):
            return None if failpoint.closes_connection else failpoint.reply()
        try:
            return await self._run(connection, request, name)
        except errors.CommandError as e:
            return e.reply()
        except Exception:
            log.exception("command %s failed", name)
            return {
                "ok": 0,
                "code": 1,
                "codeName": "InternalError",
                "errmsg": f"devdb could not run {name}",
            }

    async def _run(self, connection: int, request: wire.Request, name: str) -> dict[str, Any]:
        body = request.body
        if name == "endSessions":
            self._end_sessions(body.get("endSessions") or [])
        lsid = _session_id(body)
        txn: Transaction | None = None
        if lsid is not None and body.get("autocommit") is False and "txnNumber" in body:
            txn = self._transaction(name, body, (lsid, int(body["txnNumber"])))
            if txn is None:
                return {"ok": 1}  # a retried commit of a committed transaction
            txn.connections.add(connection)
            if name == "commitTransaction":
                return self._commit(txn)
            if name == "abortTransaction":
                self._abort(txn)
                return {"ok": 1}
            if name not in IN_TRANSACTION:
                self._abort(txn)
                raise errors.CommandError(
                    263,
                    "OperationNotSupportedInTransaction",
                    f"Cannot run '{name}' in a multi-document transaction.",
                )
        handler = HANDLERS.get(name)
        if handler is None:
            raise errors.CommandError(59, "CommandNotFound", f"no such command: '{name}'")
        raws = request.sequences.get("documents")
        sequences = {
            name: [bson.decode(raw, CODEC) for raw in sequence]
            for name, sequence in request.sequences.items()
        }
        decoded = [doc for sequence in sequences.values() for doc in sequence] or None
        self.connection_id = connection
        ctx = Context(
            self.store,
            self.cursors,
            str(body.get("$db", "test")),
            body,
            decoded,
            raws,
            txn,
            lsid,
            self,
            sequences,
        )
        while True:
            try:
                return await handler(ctx)
            except Blocked as blocked:
                await blocked.holder.finished.wait()
            except errors.CommandError:
                if txn is not None:
                    self._abort(txn)
                raise

    def _transaction(self, name: str, body: dict[str, Any], key: TxnKey) -> Transaction | None:
        txn = self.store.transactions.get(key)
        if body.get("startTransaction"):
            if txn is not None:
                raise errors.CommandError(251, "NoSuchTransaction", "transaction already started")
            for other in list(self.store.transactions.values()):
                if other.key[0] == key[0]:
                    self._abort(other)  # a session runs one transaction at a time
            txn = self.store.begin(key)
            txn.expiry = asyncio.get_running_loop().call_later(self.lifetime, self._expire, txn)
            return txn
        if txn is None:
            if name == "commitTransaction" and key in self._committed:
                return None
            raise errors.no_such_transaction(name)
        return txn

    def _commit(self, txn: Transaction) -> dict[str, Any]:
        try:
            self.store.commit(txn)
        finally:
            if txn.expiry is not None:
                txn.expiry.cancel()
        self._committed[txn.key] = None
        while len(self._committed) > REMEMBERED_COMMITS:
            self._committed.popitem(last=False)
        return {"ok": 1}

    def _abort(self, txn: Transaction) -> None:
        if txn.expiry is not None:
            txn.expiry.cancel()
        self.store.abort(txn)

    def _expire(self, txn: Transaction) -> None:
        log.warning("aborting a transaction open longer than its lifetime")
        self._abort(txn)

    def _forget_connection(self, connection: int) -> None:
        """Aborts, after a grace period, transactions whose client has gone away."""
        for txn in list(self.store.transactions.values()):
            txn.connections.discard(connection)
            if not txn.connections:
                asyncio.get_running_loop().call_later(
                    ORPHAN_GRACE_SECONDS, self._abort_if_orphaned, txn
                )

    def _abort_if_orphaned(self, txn: Transaction) -> None:
        if not txn.connections:
            self._abort(txn)

    def _end_sessions(self, sessions: list[Any]) -> None:
        ended = {bytes(s["id"]) for s in sessions if isinstance(s, dict) and "id" in s}
        for txn in list(self.store.transactions.values()):
            if txn.key[0] in ended:
                self._abort(txn)
        for cursor_id, cursor in list(self.cursors.open.items()):
            if cursor.session in ended:
                del self.cursors.open[cursor_id]

    def _configure_failpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            self._failpoint = failpoints.configure(body)
        except failpoints.FailPointError as e:
            return {"ok": 0, "code": 2, "errmsg": str(e)}
        return {"ok": 1}

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _session_id(body: dict[str, Any]) -> bytes | None:
    lsid = body.get("lsid")
    if isinstance(lsid, dict) and "id" in lsid:
        return bytes(lsid["id"])
    return None
