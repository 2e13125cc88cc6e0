"""The development database: MongoDB's wire protocol on SQLite, with serialized transactions.

The engine (nx-27017 on neosqlite) parses commands and stores documents. This module owns the
socket, runs every engine call on one worker thread (SQLite connections are not for concurrent
use), serializes transactions per database through `Gates`, and adds what real MongoDB clients
rely on: a transaction lifetime, aborting the transactions of clients that went away,
idempotent commit retries, and the `failCommand` failpoint for fault-injection tests.
Two engine paths are replaced for speed: TTL purges run at mongod's pace (`ttl`), and plain
bulk `$set` / `$currentDate` updates run in SQL, without decoding documents (`fast_updates`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import struct
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bson import Binary
from nx_27017.handler import NeoSQLiteHandler
from nx_27017.wire_protocol import OP_MSG, OP_QUERY, ResponseBuilder

from boundbox.devdb import failpoints
from boundbox.devdb.fast_updates import enable_fast_updates
from boundbox.devdb.gate import GateBusyError, Gates, Transaction, TxnKey
from boundbox.devdb.ttl import pace_ttl_purges
from boundbox.errors import BoundboxError

log = logging.getLogger("boundbox.devdb")

OP_MSG_CODE = 2013
OP_QUERY_CODE = 2004
MORE_TO_COME = 1 << 1
MAX_MESSAGE_BYTES = 48_000_000
NO_SUCH_TRANSACTION = 251
ORPHAN_GRACE_SECONDS = 1.0
WRITE_CONFLICT = {
    "ok": 0,
    "code": 112,
    "codeName": "WriteConflict",
    "errmsg": "another transaction holds this database and is not progressing; retry",
    "errorLabels": ["TransientTransactionError"],
}

# Commands that touch no data: they never wait for a gate and never fail through a failpoint.
HANDSHAKE = frozenset({"hello", "Hello", "isMaster", "ismaster"})
UNGATED = HANDSHAKE | {"ping", "buildInfo", "buildinfo", "getParameter", "endSessions"}


class DevDatabaseError(BoundboxError):
    """The dev database cannot start or serve."""


class DevDatabase:
    """A MongoDB-compatible server for development and tests; `serve` runs it until cancelled."""

    def __init__(
        self,
        *,
        data_dir: Path | None,
        transaction_lifetime: float = 60.0,
        stall: float = 0.05,
        ttl_interval: float = 60.0,
    ) -> None:
        self.data_dir = data_dir
        pace_ttl_purges(ttl_interval)
        enable_fast_updates()
        target = str(data_dir) if data_dir is not None else "memory"
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self._engine = NeoSQLiteHandler(data_dir=target)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devdb-engine")
        self._gates = Gates(transaction_lifetime, stall, self._expire)
        self._failpoint: failpoints.FailCommand | None = None
        self._committed: OrderedDict[TxnKey, None] = OrderedDict()
        self._connection_ids = itertools.count(1)
        self._writers: set[asyncio.StreamWriter] = set()
        self._app_names: dict[int, str] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> asyncio.Server:
        try:
            return await asyncio.start_server(self._serve_connection, host, port)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise DevDatabaseError(
                    f"port {port} on {host} is already in use: stop what listens there "
                    "or choose another port with --port"
                ) from None
            raise DevDatabaseError(f"cannot listen on {host}:{port}: {e.strerror}") from None

    async def close(self) -> None:
        """Aborts open transactions, closes clients and flushes the engine to disk."""
        for txn in list(self._gates.open.values()):
            await self._abort(txn)
        for writer in list(self._writers):
            writer.close()
        await asyncio.get_running_loop().run_in_executor(self._worker, self._engine.close_all)
        self._worker.shutdown(wait=True)

    # -- connections -------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = next(self._connection_ids)
        self._writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(16)
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                if not 16 < length <= MAX_MESSAGE_BYTES:
                    log.warning("closing connection %d: bad message length %d", connection, length)
                    return
                message = header + await reader.readexactly(length - 16)
                reply = await self._reply(connection, request_id, opcode, message)
                if reply is None:
                    return
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            self._app_names.pop(connection, None)
            writer.close()
            await self._forget_connection(connection)

    async def _reply(
        self, connection: int, request_id: int, opcode: int, message: bytes
    ) -> bytes | None:
        """The bytes to send back (b"" for none), or None to close the connection."""
        if opcode == OP_QUERY_CODE:
            query = OP_QUERY.parse(message)
            query["_conn_id"] = connection
            self._remember_app_name(connection, query.get("query", {}))
            _, docs = await self._run(self._engine.handle_query, query)
            return bytes(ResponseBuilder.build_reply(next(_reply_ids), request_id, docs))
        if opcode != OP_MSG_CODE:
            return _op_msg(request_id, {"ok": 0, "errmsg": f"unsupported opcode {opcode}"})
        msg = OP_MSG.parse(message)
        msg["_conn_id"] = connection
        document = await self._command(connection, msg)
        if document is None:
            return None
        if msg["flags"] & MORE_TO_COME:
            return b""
        return _op_msg(request_id, document)

    def _remember_app_name(self, connection: int, command: dict[str, Any]) -> None:
        app = (command.get("client") or {}).get("application") or {}
        if "name" in app:
            self._app_names[connection] = str(app["name"])

    # -- commands ----------------------------------------------------------------------------

    async def _command(self, connection: int, msg: dict[str, Any]) -> dict[str, Any] | None:
        body: dict[str, Any] = next(doc for kind, doc in msg["sections"] if kind == "body")
        name = next(iter(body))
        if name in HANDSHAKE:
            self._remember_app_name(connection, body)
        if name == "configureFailPoint":
            return self._configure_failpoint(body)
        if name == "devdbStatus":
            return {"ok": 1, "gates": self._gates.status(), "open": len(self._gates.open)}
        failpoint = self._failpoint
        if (
            name not in UNGATED
            and failpoint is not None
            and failpoint.applies_to(name, self._app_names.get(connection))
        ):
            return None if failpoint.closes_connection else failpoint.reply()
        if name == "endSessions":
            await self._end_sessions(body.get("endSessions") or [])
        if name in UNGATED:
            return await self._execute(msg)

        lsid = _session_id(body)
        database = str(body.get("$db", "test"))
        if lsid is not None and body.get("autocommit") is False and "txnNumber" in body:
            return await self._transaction_command(connection, msg, name, (lsid, body["txnNumber"]))
        gate = self._gates.gate(database)
        await gate.acquire()
        try:
            return await self._execute(msg)
        finally:
            gate.release()

    async def _transaction_command(
        self, connection: int, msg: dict[str, Any], name: str, key: TxnKey
    ) -> dict[str, Any]:
        body = next(doc for kind, doc in msg["sections"] if kind == "body")
        txn = self._gates.open.get(key)
        if txn is None and body.get("startTransaction"):
            try:
                txn = await self._gates.begin(key, str(body.get("$db", "test")), connection)
            except GateBusyError:
                return dict(WRITE_CONFLICT)
        if txn is None:
            if name == "commitTransaction" and key in self._committed:
                return {"ok": 1}
            return _no_such_transaction(name)
        txn.connections.add(connection)
        txn.in_flight += 1
        try:
            reply = await self._execute(msg)
        finally:
            txn.in_flight -= 1
            txn.last_active = time.monotonic()
        if name == "commitTransaction" and reply.get("ok"):
            self._remember_commit(key)
            if self._gates.detach(txn):
                self._gates.release(txn)
        elif name in ("commitTransaction", "abortTransaction"):
            await self._abort(txn)
        return reply

    async def _execute(self, msg: dict[str, Any]) -> dict[str, Any]:
        has_documents = any(kind == "payload_docs" for kind, _ in msg["sections"])
        body = next(doc for kind, doc in msg["sections"] if kind == "body")
        call = self._engine.handle_insert if "insert" in body or has_documents else None
        try:
            _, reply = await self._run(call or self._engine.handle_command, msg)
        except Exception as e:  # the engine's failures become MongoDB error replies
            log.exception("engine failed on %s", next(iter(body), "?"))
            return {"ok": 0, "code": 1, "errmsg": f"{type(e).__name__}: {e}"}
        return dict(reply)

    async def _run(self, fn: Any, argument: Any) -> Any:
        """Calls the engine on its one worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, argument)

    def _configure_failpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            self._failpoint = failpoints.configure(body)
        except failpoints.FailPointError as e:
            return {"ok": 0, "code": 2, "errmsg": str(e)}
        return {"ok": 1}

    # -- transaction lifecycle ---------------------------------------------------------------

    def _remember_commit(self, key: TxnKey) -> None:
        self._committed[key] = None
        while len(self._committed) > 10_000:
            self._committed.popitem(last=False)

    async def _abort(self, txn: Transaction) -> None:
        """Rolls back `txn` in the engine and frees its gate (once, however often called)."""
        if not self._gates.detach(txn):
            return
        abort = {
            "abortTransaction": 1,
            "lsid": {"id": Binary(txn.key[0], 4)},
            "txnNumber": txn.key[1],
            "autocommit": False,
            "$db": "admin",
        }
        try:
            await self._execute({"request_id": 0, "sections": [("body", abort)], "_conn_id": 0})
        finally:
            self._gates.release(txn)

    def _expire(self, txn: Transaction) -> None:
        log.warning("aborting a transaction open longer than its lifetime (%s)", txn.database)
        self._spawn(self._abort(txn))

    async def _forget_connection(self, connection: int) -> None:
        """Aborts transactions left with no connection: their client has gone away.

        A client that merely reset its pool reconnects at once, so the abort waits a grace
        period for the transaction's next command on a new connection.
        """
        for txn in list(self._gates.open.values()):
            txn.connections.discard(connection)
            if not txn.connections:
                asyncio.get_running_loop().call_later(
                    ORPHAN_GRACE_SECONDS, self._abort_if_orphaned, txn
                )
        with contextlib.suppress(RuntimeError):
            await self._run(self._engine.close_cursors_for_owner, connection)

    def _abort_if_orphaned(self, txn: Transaction) -> None:
        if not txn.connections:
            self._spawn(self._abort(txn))

    async def _end_sessions(self, sessions: list[Any]) -> None:
        ended = {bytes(s["id"]) for s in sessions if isinstance(s, dict) and "id" in s}
        for txn in list(self._gates.open.values()):
            if txn.key[0] in ended:
                await self._abort(txn)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_reply_ids = itertools.count(1)


def _op_msg(response_to: int, document: dict[str, Any]) -> bytes:
    return bytes(ResponseBuilder.build_op_msg_reply(next(_reply_ids), response_to, document))


def _session_id(body: dict[str, Any]) -> bytes | None:
    lsid = body.get("lsid")
    if isinstance(lsid, dict) and "id" in lsid:
        return bytes(lsid["id"])
    return None


def _no_such_transaction(name: str) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "ok": 0,
        "code": NO_SUCH_TRANSACTION,
        "codeName": "NoSuchTransaction",
        "errmsg": "Transaction has been aborted or has expired",
    }
    if name != "abortTransaction":
        reply["errorLabels"] = ["TransientTransactionError"]
    return reply
