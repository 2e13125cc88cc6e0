"""insert, update, delete and findAndModify: compute every write, then stage or commit them.

A command outside a transaction runs in a transaction of its own, committed before the command
returns: checks (duplicate keys, documents an open transaction holds) see the command's own
earlier writes, and an ordered batch stops at its first error with the writes before it kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import bson
from bson import ObjectId

from devdb import errors
from devdb.bsonvalues import CODEC, equality_key
from devdb.commands.context import Context, Reply
from devdb.query import matches, order, shape
from devdb.semantics import full, updates
from devdb.store.collection import Collection
from devdb.store.engine import Write
from devdb.store.transactions import Transaction
from devdb.store.versions import Document, Key


@contextlib.contextmanager
def _unit(ctx: Context) -> Iterator[Transaction]:
    """The transaction the writes go to: the session's, or one committed when the block ends."""
    if ctx.txn is not None:
        yield ctx.txn
        return
    txn = ctx.store.begin_internal()
    try:
        yield txn
    except BaseException:
        ctx.store.abort(txn)
        raise
    ctx.store.commit(txn)


def _record(
    ctx: Context, error: errors.CommandError, index: int, write_errors: list[dict[str, Any]]
) -> None:
    """A failed statement becomes a write error, except in a transaction or on a conflict,
    where the whole command fails (with its transient label) as on MongoDB."""
    if ctx.txn is not None or error.code == 112:
        raise error
    write_errors.append(error.write_error(index))


def _encode(doc: Document) -> bytes:
    try:
        return bson.encode(doc)
    except (bson.errors.InvalidDocument, OverflowError, ValueError) as e:
        raise errors.CommandError(2, "BadValue", f"cannot store document: {e}") from None


def _stage(ctx: Context, txn: Transaction, write: Write) -> None:
    ctx.store.check(write, txn)
    ctx.store.apply([write], txn)


def _check_id(value: Any) -> None:
    if isinstance(value, list | bson.Regex) or hasattr(value, "pattern"):
        raise errors.CommandError(2, "BadValue", f"can't use a {type(value).__name__} for _id")


def _check_fields(doc: Mapping[str, Any]) -> None:
    for name in doc:
        if name.startswith("$") and name not in ("$ref", "$id", "$db"):
            raise errors.CommandError(
                52,
                "DollarPrefixedFieldName",
                f"The dollar ($) prefixed field '{name}' is not valid for storage.",
            )


def _insert_one(
    ctx: Context, txn: Transaction, collection: Collection, doc: Document, raw: bytes | None
) -> Any:
    if "_id" not in doc:
        doc = {"_id": ObjectId(), **doc}
        raw = None
    _check_id(doc["_id"])
    key = equality_key(doc["_id"])
    if ctx.store.get(collection, key, txn) is not None:
        raise errors.duplicate_key(collection.namespace, "_id_", {"_id": 1}, {"_id": doc["_id"]})
    _stage(
        ctx,
        txn,
        Write(collection, key, doc, raw if raw is not None else _encode(doc), "insert", None),
    )
    return doc["_id"]


async def insert(ctx: Context) -> Reply:
    collection = ctx.ensure()
    docs = list(ctx.body.get("documents") or []) + list(ctx.documents or [])
    raws: list[bytes | None] = [None] * len(ctx.body.get("documents") or []) + list(
        ctx.raw_documents or []
    )
    ordered = ctx.body.get("ordered", True)
    write_errors: list[dict[str, Any]] = []
    n = 0
    with _unit(ctx) as txn:
        for index, doc in enumerate(docs):
            try:
                _insert_one(ctx, txn, collection, doc, raws[index] if index < len(raws) else None)
                n += 1
            except errors.CommandError as e:
                _record(ctx, e, index, write_errors)
                if ordered:
                    break
    reply: Reply = {"n": n, "ok": 1}
    if write_errors:
        reply["writeErrors"] = write_errors
    return reply


def _updated(
    doc: Document, raw: bytes, spec: Any, selector: Any, array_filters: Any, inserting: bool
) -> tuple[Document, bool]:
    """The new state of `doc` under an update document, pipeline or replacement."""
    if isinstance(spec, list):
        new = full.apply_pipeline_update(doc, spec)
        if "_id" in doc and "_id" not in new:
            new = {"_id": doc["_id"], **new}
        return new, new != doc
    if not isinstance(spec, Mapping):
        raise errors.CommandError(
            9, "FailedToParse", "Update argument must be either an object or an array"
        )
    if spec and not all(k.startswith("$") for k in spec):
        if any(k.startswith("$") for k in spec):
            raise errors.CommandError(9, "FailedToParse", "Unknown modifier in update")
        _check_fields(spec)
        new = {"_id": doc["_id"]} if "_id" in doc else {}
        new.update({k: v for k, v in spec.items() if k != "_id" or "_id" not in doc})
        if "_id" in spec and "_id" in doc and equality_key(spec["_id"]) != equality_key(doc["_id"]):
            raise _immutable()
        return new, bson.encode(new) != raw
    if not spec:
        raise errors.CommandError(9, "FailedToParse", "Update document requires atomic operators")
    native = None if array_filters else updates.compile_update(spec)
    if native is not None:
        copy = bson.decode(raw, CODEC) if raw else dict(doc)
        try:
            changed = native.apply(copy, inserting=inserting)
            return copy, changed
        except updates.Unsupported:
            pass
    return full.apply_update(
        doc, spec, inserting=inserting, selector=selector, array_filters=array_filters
    )


def _immutable() -> errors.CommandError:
    return errors.CommandError(
        66,
        "ImmutableField",
        "Performing an update on the path '_id' would modify the immutable field '_id'",
    )


def _replace(
    ctx: Context,
    txn: Transaction,
    collection: Collection,
    key: Key,
    doc: Document,
    raw: bytes,
    spec: Any,
    selector: Any,
    array_filters: Any,
) -> Document | None:
    """Stages the update of one document; its new state, or None when nothing changed."""
    new, changed = _updated(doc, raw, spec, selector, array_filters, inserting=False)
    if not changed:
        return None
    if equality_key(new.get("_id")) != key:
        raise _immutable()
    operation = (
        "replace"
        if isinstance(spec, Mapping) and spec and not next(iter(spec)).startswith("$")
        else "update"
    )
    _stage(ctx, txn, Write(collection, key, new, _encode(new), operation, doc))
    return new


def _upsert(
    ctx: Context,
    txn: Transaction,
    collection: Collection,
    selector: Any,
    spec: Any,
    array_filters: Any,
) -> Document:
    if isinstance(spec, Mapping) and spec and not next(iter(spec)).startswith("$"):
        seed = full.seed_upsert(selector or {})
        new = {k: v for k, v in spec.items()}
        if "_id" not in new and "_id" in seed:
            new = {"_id": seed["_id"], **new}
    else:
        seed = full.seed_upsert(selector or {})
        new, _ = _updated(seed, bson.encode(seed), spec, selector, array_filters, inserting=True)
    if "_id" not in new:
        new = {"_id": ObjectId(), **new}
    elif next(iter(new)) != "_id":
        new = {"_id": new["_id"], **{k: v for k, v in new.items() if k != "_id"}}
    _check_fields(new)
    _insert_one(ctx, txn, collection, new, None)
    return new


async def update(ctx: Context) -> Reply:
    statements = list(ctx.body.get("updates") or []) + list(ctx.documents or [])
    upserts = any(isinstance(s, Mapping) and s.get("upsert") for s in statements)
    collection = ctx.ensure() if upserts else ctx.collection()
    ordered = ctx.body.get("ordered", True)
    matched = modified = 0
    upserted: list[dict[str, Any]] = []
    write_errors: list[dict[str, Any]] = []
    with _unit(ctx) as txn:
        for index, statement in enumerate(statements):
            try:
                n, m, new_id = _update_statement(ctx, txn, collection, statement)
            except errors.CommandError as e:
                _record(ctx, e, index, write_errors)
                if ordered:
                    break
                continue
            matched += n
            modified += m
            if new_id is not None:
                upserted.append({"index": index, "_id": new_id[0]})
    reply: Reply = {"n": matched + len(upserted), "nModified": modified, "ok": 1}
    if upserted:
        reply["upserted"] = upserted
    if write_errors:
        reply["writeErrors"] = write_errors
    return reply


def _update_statement(
    ctx: Context, txn: Transaction, collection: Collection | None, statement: Mapping[str, Any]
) -> tuple[int, int, tuple[Any] | None]:
    selector, spec = statement.get("q") or {}, statement.get("u")
    array_filters = statement.get("arrayFilters")
    multi = bool(statement.get("multi"))
    if multi and isinstance(spec, Mapping) and spec and not next(iter(spec)).startswith("$"):
        raise errors.CommandError(
            9, "FailedToParse", "multi update is not supported for replacement-style update"
        )
    found = list(matches(ctx.store, collection, txn, selector))
    if "sort" in statement and not multi:
        found = order(found, statement["sort"])
    if not multi:
        found = found[:1]
    if not found:
        if statement.get("upsert") and collection is not None:
            new = _upsert(ctx, txn, collection, selector, spec, array_filters)
            return 0, 0, (new["_id"],)
        return 0, 0, None
    modified = 0
    assert collection is not None  # there were matches
    for key, doc, raw in found:
        if _replace(ctx, txn, collection, key, doc, raw, spec, selector, array_filters) is not None:
            modified += 1
    return len(found), modified, None


async def delete(ctx: Context) -> Reply:
    collection = ctx.collection()
    statements = list(ctx.body.get("deletes") or []) + list(ctx.documents or [])
    if collection is None:
        for statement in statements:
            from devdb.query import compile_filter

            compile_filter(statement.get("q"))
        return {"n": 0, "ok": 1}
    n = 0
    with _unit(ctx) as txn:
        for statement in statements:
            found = list(matches(ctx.store, collection, txn, statement.get("q") or {}))
            if statement.get("limit", 0) == 1:
                found = found[:1]
            for key, doc, _ in found:
                _stage(ctx, txn, Write(collection, key, None, None, "delete", doc))
                n += 1
    return {"n": n, "ok": 1}


async def find_and_modify(ctx: Context) -> Reply:
    body = ctx.body
    collection = ctx.ensure() if body.get("upsert") else ctx.collection()
    selector = body.get("query") or {}
    with _unit(ctx) as txn:
        result, last = _find_and_modify(ctx, txn, collection, selector)
    value = None
    if result is not None:
        fields = body.get("fields")
        value = shape([(None, result, _encode(result))], fields, selector)[0] if fields else result
    return {"lastErrorObject": last, "value": value, "ok": 1}


def _find_and_modify(
    ctx: Context, txn: Transaction, collection: Collection | None, selector: Any
) -> tuple[Document | None, dict[str, Any]]:
    body = ctx.body
    found = list(matches(ctx.store, collection, txn, selector)) if collection else []
    found = order(found, body.get("sort"))[:1]
    result: Document | None = None
    last: dict[str, Any] = {"n": 0}
    if body.get("remove"):
        if found and collection is not None:
            key, doc, _ = found[0]
            _stage(ctx, txn, Write(collection, key, None, None, "delete", doc))
            result, last = doc, {"n": 1}
    elif found and collection is not None:
        key, doc, raw = found[0]
        new = _replace(
            ctx,
            txn,
            collection,
            key,
            doc,
            raw,
            body.get("update"),
            selector,
            body.get("arrayFilters"),
        )
        result = (new or doc) if body.get("new") else doc
        last = {"n": 1, "updatedExisting": True}
    elif body.get("upsert") and collection is not None:
        new = _upsert(ctx, txn, collection, selector, body.get("update"), body.get("arrayFilters"))
        result = new if body.get("new") else None
        last = {"n": 1, "updatedExisting": False, "upserted": new["_id"]}
    return result, last
