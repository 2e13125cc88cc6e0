"""`bulkWrite` (MongoDB 8): inserts, updates and deletes on any collections in one command.

Each operation runs as the collection command it stands for (`insert`, `update`, `delete`),
with the same checks, in the command's transaction or, outside one, each in its own, as
MongoDB runs them: an ordered command stops at its first error, an unordered one goes on. In a
transaction an error fails the whole command, as the collection commands' do. The reply is a
cursor of each operation's result (errors only, with `errorsOnly`), beside the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from devdb import errors
from devdb.commands import writes
from devdb.commands.context import Context, Reply

KINDS = ("insert", "update", "delete")


def _listed(ctx: Context, name: str) -> list[Any]:
    """`ops` or `nsInfo`, sent in the body or as a document sequence beside it."""
    value = ctx.sequences.get(name, ctx.body.get(name))
    if not isinstance(value, list):
        raise errors.CommandError(
            40414, "IDLFailedToParse", f"BSON field 'bulkWrite.{name}' is missing"
        )
    return value


def _namespaces(ctx: Context) -> list[tuple[str, str]]:
    result = []
    for entry in _listed(ctx, "nsInfo"):
        ns = entry.get("ns") if isinstance(entry, Mapping) else None
        database, _, collection = ns.partition(".") if isinstance(ns, str) else ("", "", "")
        if not database or not collection:
            raise errors.invalid_namespace(f"Invalid namespace specified '{ns}'")
        result.append((database, collection))
    return result


def _operation(
    op: Any, namespaces: list[tuple[str, str]]
) -> tuple[str, str, str, Mapping[str, Any]]:
    """(kind, database, collection, op) of one entry of `ops`."""
    kinds = [kind for kind in KINDS if isinstance(op, Mapping) and kind in op]
    if len(kinds) != 1:
        raise errors.CommandError(
            40414, "IDLFailedToParse", "each operation must be one insert, update or delete"
        )
    kind = kinds[0]
    index = op[kind]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(namespaces):
        raise errors.bad_value(f"BulkWrite {kind} index {index!r} is not in nsInfo")
    return kind, *namespaces[index], op


def _command(kind: str, collection: str, op: Mapping[str, Any]) -> dict[str, Any]:
    """The collection command one operation stands for."""
    if kind == "insert":
        return {"insert": collection, "documents": [op.get("document")]}
    if kind == "update":
        statement = {"q": op.get("filter") or {}, "u": op.get("updateMods")}
        for field in ("multi", "upsert", "arrayFilters", "sort", "collation", "hint"):
            if field in op:
                statement[field] = op[field]
        return {"update": collection, "updates": [statement]}
    limit = 0 if op.get("multi") else 1
    return {"delete": collection, "deletes": [{"q": op.get("filter") or {}, "limit": limit}]}


async def bulk_write(ctx: Context) -> Reply:
    namespaces = _namespaces(ctx)
    ops = _listed(ctx, "ops")
    ordered = ctx.body.get("ordered", True)
    errors_only = bool(ctx.body.get("errorsOnly", False))
    totals = dict.fromkeys(("nInserted", "nMatched", "nModified", "nUpserted", "nDeleted"), 0)
    results: list[dict[str, Any]] = []
    failed = 0
    for idx, op in enumerate(ops):
        kind, database, collection, fields = _operation(op, namespaces)
        one = replace(
            ctx,
            db=database,
            body=_command(kind, collection, fields),
            documents=None,
            raw_documents=None,
            sequences={},
        )
        try:
            reply = await _run(kind, one)
        except errors.CommandError as e:
            if ctx.txn is not None or e.code == 112:
                raise
            reply = {"n": 0, "writeErrors": [e.write_error(0)]}
        if reply.get("writeErrors"):
            failed += 1
            error = dict(reply["writeErrors"][0])
            error.pop("index", None)
            results.append({"ok": 0, "idx": idx, **error})
            if ordered:
                break
            continue
        result: dict[str, Any] = {"ok": 1, "idx": idx, "n": reply["n"]}
        if kind == "insert":
            totals["nInserted"] += reply["n"]
        elif kind == "delete":
            totals["nDeleted"] += reply["n"]
        else:
            upserted = reply.get("upserted") or []
            result["nModified"] = reply["nModified"]
            if upserted:
                result["upserted"] = {"_id": upserted[0]["_id"]}
            totals["nUpserted"] += len(upserted)
            totals["nMatched"] += reply["n"] - len(upserted)
            totals["nModified"] += reply["nModified"]
        if not errors_only:
            results.append(result)
    return {
        "cursor": {"id": 0, "firstBatch": results, "ns": "admin.$cmd.bulkWrite"},
        "nErrors": failed,
        **totals,
        "ok": 1,
    }


async def _run(kind: str, ctx: Context) -> Reply:
    if kind == "insert":
        return await writes.insert(ctx)
    if kind == "update":
        return await writes.update(ctx)
    return await writes.delete(ctx)
