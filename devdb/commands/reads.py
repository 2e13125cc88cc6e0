"""find, getMore, killCursors, count, distinct and aggregate, views included."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key
from typing import Any

from devdb import errors
from devdb.bsonvalues import compare, equality_key
from devdb.commands.changestreams import open_change_stream
from devdb.commands.context import ENVELOPE, Context, Cursor, Reply
from devdb.query import Match, compile_filter, matches, order, shape
from devdb.semantics import full
from devdb.store.collection import Collection
from devdb.store.indexes import values_at
from devdb.store.versions import Document

DEFAULT_BATCH = 101
AGGREGATE_FIELDS = ENVELOPE | {
    "aggregate",
    "pipeline",
    "cursor",
    "explain",
    "allowDiskUse",
    "bypassDocumentValidation",
    "collation",
    "hint",
    "let",
    "fromMongos",
    "needsMerge",
}


def first_batch(
    ctx: Context, documents: list[Any], *, batch_size: Any = None, single: bool = False
) -> Reply:
    """The reply that opens a cursor over `documents`, keeping the rest for getMore."""
    size = DEFAULT_BATCH if batch_size is None else int(batch_size)
    if size < 0:
        raise errors.bad_value("batchSize must be non-negative")
    batch, rest = (documents, []) if single else (documents[:size], documents[size:])
    if size == 0 and not single:
        batch, rest = [], documents
    cursor_id = 0
    if rest:
        cursor_id = ctx.cursors.new_id()
        ctx.cursors.open[cursor_id] = Cursor(cursor_id, _ns(ctx), rest, size, ctx.session)
    return {"cursor": {"firstBatch": batch, "id": cursor_id, "ns": _ns(ctx)}, "ok": 1}


def _ns(ctx: Context) -> str:
    value = ctx.body[ctx.name]
    return f"{ctx.db}.{value}" if isinstance(value, str) else f"{ctx.db}.$cmd.aggregate"


def view_documents(ctx: Context, view: Collection, depth: int = 0) -> list[Document]:
    """The documents a view shows: its pipeline over its source."""
    if depth > 20:
        raise errors.CommandError(2, "BadValue", "view nesting is too deep")
    source = ctx.store.collection(view.database, str(view.options["viewOn"]), ctx.txn)
    if source is None:
        docs: list[Document] = []
    elif source.is_view:
        docs = view_documents(ctx, source, depth + 1)
    else:
        docs = [doc for _, doc, _ in ctx.store.documents(source, ctx.txn)]
    return full.aggregate(docs, list(view.options.get("pipeline") or []), resolver=_resolver(ctx))


def _resolver(ctx: Context) -> Any:
    def resolve(name: str) -> list[Document]:
        collection = ctx.store.collection(ctx.db, name, ctx.txn)
        if collection is None:
            return []
        if collection.is_view:
            return view_documents(ctx, collection)
        return [doc for _, doc, _ in ctx.store.documents(collection, ctx.txn)]

    return resolve


def _find_on_view(ctx: Context, view: Collection) -> list[Any]:
    body = ctx.body
    pipeline: list[Any] = []
    if body.get("filter"):
        pipeline.append({"$match": body["filter"]})
    if body.get("sort"):
        pipeline.append({"$sort": body["sort"]})
    if body.get("skip"):
        pipeline.append({"$skip": body["skip"]})
    if body.get("limit"):
        pipeline.append({"$limit": abs(int(body["limit"]))})
    if body.get("projection"):
        pipeline.append({"$project": body["projection"]})
    return full.aggregate(view_documents(ctx, view), pipeline, resolver=_resolver(ctx))


async def find(ctx: Context) -> Reply:
    body = ctx.body
    collection = ctx.collection()
    limit = int(body.get("limit") or 0)
    skip = int(body.get("skip") or 0)
    if skip < 0:
        raise errors.bad_value("skip value must be non-negative")
    if collection is not None and collection.is_view:
        documents = _find_on_view(ctx, collection)
    else:
        found = _select(ctx, collection, body.get("filter"), body.get("sort"), skip, abs(limit))
        documents = shape(found, body.get("projection"), body.get("filter"))
    single = bool(body.get("singleBatch")) or limit < 0
    batch_size = body.get("batchSize")
    if limit and (batch_size is None or abs(limit) <= int(batch_size)) and not body.get("tailable"):
        single = True
    return first_batch(ctx, documents, batch_size=batch_size, single=single)


def _select(
    ctx: Context, collection: Collection | None, filter: Any, sort: Any, skip: int, limit: int
) -> list[Match]:
    if filter is not None and not isinstance(filter, Mapping):
        raise errors.bad_value("filter must be an object")
    predicate = compile_filter(filter)  # a malformed filter fails even on a missing collection
    found: list[Match] = []
    want = None if sort or not limit else skip + limit
    for match in matches(ctx.store, collection, ctx.txn, filter, predicate):
        found.append(match)
        if want is not None and len(found) >= want:
            break
    found = order(found, sort, skip + limit if limit else None)
    return found[skip : skip + limit] if limit else found[skip:]


async def get_more(ctx: Context) -> Reply:
    cursor_id = ctx.body["getMore"]
    cursor = ctx.cursors.open.get(cursor_id)
    if cursor is None:
        raise errors.CommandError(43, "CursorNotFound", f"cursor id {cursor_id} not found")
    size = int(ctx.body.get("batchSize") or cursor.batch_size or DEFAULT_BATCH)
    if cursor.more is not None:
        wait = float(ctx.body.get("maxTimeMS", 1000)) / 1000
        batch = await cursor.more(ctx, wait)
        reply: Reply = {
            "cursor": {"nextBatch": batch, "id": cursor_id, "ns": cursor.namespace},
            "ok": 1,
        }
        if cursor.post_batch is not None:
            reply["cursor"].update(cursor.post_batch())
        return reply
    batch, cursor.pending = cursor.pending[:size], cursor.pending[size:]
    if not cursor.pending:
        del ctx.cursors.open[cursor_id]
        cursor_id = 0
    return {"cursor": {"nextBatch": batch, "id": cursor_id, "ns": cursor.namespace}, "ok": 1}


async def kill_cursors(ctx: Context) -> Reply:
    killed: list[int] = []
    unknown: list[int] = []
    for cursor_id in ctx.body.get("cursors") or []:
        (killed if ctx.cursors.open.pop(cursor_id, None) else unknown).append(cursor_id)
    return {
        "cursorsKilled": killed,
        "cursorsNotFound": unknown,
        "cursorsAlive": [],
        "cursorsUnknown": [],
        "ok": 1,
    }


async def count(ctx: Context) -> Reply:
    body = ctx.body
    collection = ctx.collection()
    skip, limit = int(body.get("skip") or 0), abs(int(body.get("limit") or 0))
    if collection is not None and collection.is_view:
        docs = view_documents(ctx, collection)
        predicate = compile_filter(body.get("query"))
        n = sum(1 for d in docs if predicate(d))
    else:
        n = sum(1 for _ in matches(ctx.store, collection, ctx.txn, body.get("query")))
    n = max(0, n - skip)
    return {"n": min(n, limit) if limit else n, "ok": 1}


async def distinct(ctx: Context) -> Reply:
    key = ctx.body.get("key")
    if not isinstance(key, str):
        raise errors.CommandError(14, "TypeMismatch", "key must be a string")
    collection = ctx.collection()
    if collection is not None and collection.is_view:
        predicate = compile_filter(ctx.body.get("query"))
        docs = [d for d in view_documents(ctx, collection) if predicate(d)]
    else:
        docs = [doc for _, doc, _ in matches(ctx.store, collection, ctx.txn, ctx.body.get("query"))]
    values: dict[Any, Any] = {}
    for doc in docs:
        for value in values_at(doc, key.split(".")):
            if value is None and not _has_path(doc, key):
                continue
            values.setdefault(equality_key(value), value)
    ordered = sorted(values.values(), key=cmp_to_key(compare))
    return {"values": ordered, "ok": 1}


def _has_path(doc: Any, path: str) -> bool:
    head, _, rest = path.partition(".")
    if isinstance(doc, dict):
        return head in doc and (not rest or _has_path(doc[head], rest))
    if isinstance(doc, list):
        return any(_has_path(element, path) for element in doc)
    return False


async def aggregate(ctx: Context) -> Reply:
    pipeline = ctx.body.get("pipeline")
    if not isinstance(pipeline, list):
        raise errors.CommandError(
            14, "TypeMismatch", "'pipeline' option must be specified as an array"
        )
    if pipeline and isinstance(pipeline[0], Mapping) and "$changeStream" in pipeline[0]:
        return await open_change_stream(ctx, pipeline)
    unknown = set(ctx.body) - AGGREGATE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise errors.CommandError(
            40415, "Location40415", f"BSON field 'aggregate.{field}' is an unknown field."
        )
    if "cursor" not in ctx.body and not ctx.body.get("explain"):
        raise errors.CommandError(9, "FailedToParse", "The 'cursor' option is required")
    documents = _aggregate(ctx, pipeline)
    batch_size = (ctx.body.get("cursor") or {}).get("batchSize")
    return first_batch(ctx, documents, batch_size=batch_size)


def _aggregate(ctx: Context, pipeline: list[Any]) -> list[Any]:
    target = ctx.body["aggregate"]
    if target == 1:
        return full.aggregate([], pipeline, resolver=_resolver(ctx))
    collection = ctx.collection()
    if collection is not None and collection.is_view:
        docs = view_documents(ctx, collection)
    else:
        stages = list(pipeline)
        first = stages[0] if stages else None
        spec = (
            first.get("$match") if isinstance(first, Mapping) and set(first) == {"$match"} else None
        )
        if isinstance(spec, Mapping) and not _uses_expr(spec):
            stages = stages[1:]
            counted = _count_fast(ctx, collection, spec, stages)
            if counted is not None:
                return counted
            docs = [doc for _, doc, _ in matches(ctx.store, collection, ctx.txn, spec)]
            return _finish_pipeline(ctx, docs, stages)
        docs = [doc for _, doc, _ in matches(ctx.store, collection, ctx.txn, None)]
        pipeline = stages
    return _finish_pipeline(ctx, docs, pipeline)


def _finish_pipeline(ctx: Context, docs: list[Document], pipeline: list[Any]) -> list[Any]:
    if not pipeline:
        return docs
    return full.aggregate(docs, pipeline, resolver=_resolver(ctx), variables=ctx.body.get("let"))


def _uses_expr(spec: Any) -> bool:
    if isinstance(spec, Mapping):
        return any(k in ("$expr", "$where") or _uses_expr(v) for k, v in spec.items())
    if isinstance(spec, list):
        return any(_uses_expr(v) for v in spec)
    return False


def _count_fast(
    ctx: Context, collection: Collection | None, spec: Mapping[str, Any], rest: list[Any]
) -> list[Any] | None:
    """count_documents' pipeline ($match, $group {_id: 1, n: {$sum: 1}}) without mongoeco."""
    if len(rest) != 1 or set(rest[0]) != {"$group"}:
        return None
    group = rest[0]["$group"]
    if not isinstance(group, Mapping) or len(group) != 2 or group.get("_id") not in (1, None):
        return None
    ((field, accumulator),) = [(k, v) for k, v in group.items() if k != "_id"]
    if accumulator != {"$sum": 1}:
        return None
    n = sum(1 for _ in matches(ctx.store, collection, ctx.txn, spec))
    return [{"_id": group["_id"], field: n}] if n else []
