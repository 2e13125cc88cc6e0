"""Change streams: `aggregate` with `$changeStream` first, read by getMore from the change log.

Resume tokens carry a change's position (commit ts and order in the commit), so `resumeAfter`
and `startAfter` continue right after it while the bounded log still holds what follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bson import Timestamp

from devdb import errors
from devdb.bsonvalues import equality_key
from devdb.commands.context import Context, Cursor, Reply
from devdb.semantics import filters, full, projection
from devdb.store.changes import Change

Position = tuple[int, int]


def token(position: Position) -> dict[str, str]:
    return {"_data": f"{position[0]:016x}{position[1]:08x}"}


def position_of(resume: Any) -> Position:
    data = resume.get("_data") if isinstance(resume, Mapping) else None
    if not isinstance(data, str) or len(data) != 24:
        raise errors.CommandError(
            260, "InvalidResumeToken", "the resume token was not created by this server"
        )
    try:
        return int(data[:16], 16), int(data[16:], 16)
    except ValueError:
        raise errors.CommandError(260, "InvalidResumeToken", "malformed resume token") from None


def _start(ctx: Context, spec: Mapping[str, Any]) -> Position:
    for option in ("resumeAfter", "startAfter"):
        if spec.get(option) is not None:
            position = position_of(spec[option])
            if not ctx.store.changes.covers(position):
                raise errors.CommandError(
                    286, "ChangeStreamHistoryLost", "resume point no longer in the change log"
                )
            return position
    at = spec.get("startAtOperationTime")
    if isinstance(at, Timestamp):
        return at.time, at.inc - 2
    return ctx.store.changes.last_position


def _in_scope(ctx: Context, change: Change, collection: str | None, cluster: bool) -> bool:
    if cluster:
        return True
    if change.database != ctx.db:
        return False
    return collection is None or change.collection == collection


def _event(ctx: Context, change: Change, full_document: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "_id": token(change.position),
        "operationType": change.operation,
        "clusterTime": Timestamp(change.position[0], change.position[1] + 1),
        "wallTime": change.wall_time,
        "ns": {"db": change.database, "coll": change.collection},
    }
    if change.operation in ("insert", "update", "replace", "delete"):
        event["documentKey"] = {"_id": change.document_id}
    if change.operation in ("insert", "replace"):
        event["fullDocument"] = change.after
    elif change.operation == "update":
        event["updateDescription"] = _describe(change.before or {}, change.after or {})
        if full_document in ("updateLookup", "whenAvailable", "required"):
            collection = ctx.store.collection(change.database, change.collection)
            found = (
                ctx.store.get(collection, equality_key(change.document_id), None)
                if collection
                else None
            )
            event["fullDocument"] = found[0] if found else None
    return event


def _describe(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    updated = {
        k: v
        for k, v in after.items()
        if k not in before
        or equality_key(before[k]) != equality_key(v)
        or type(before[k]) is not type(v)
    }
    removed = [k for k in before if k not in after]
    return {"updatedFields": updated, "removedFields": removed, "truncatedArrays": []}


Stage = Callable[[list[Any]], list[Any]]


def _stages(pipeline: list[Any]) -> Stage:
    """The stages after `$changeStream`: natively when they are only `$match` filters and plain
    projections keeping `_id` (a relay's wake-up stream), else by the full engine."""
    native: list[Stage] = []
    for stage in pipeline:
        step = _native_stage(stage)
        if step is None:
            return lambda events: full.aggregate(events, pipeline, resolver=None)
        native.append(step)

    def run(events: list[Any]) -> list[Any]:
        for step in native:
            events = step(events)
        return events

    return run


def _native_stage(stage: Any) -> Stage | None:
    if not isinstance(stage, Mapping) or len(stage) != 1:
        return None
    [(name, spec)] = stage.items()
    if name == "$match" and isinstance(spec, Mapping):
        predicate = filters.compile_filter(spec)
        if predicate is not None:
            return lambda events: [e for e in events if predicate(e)]
    elif name == "$project" and isinstance(spec, Mapping) and spec.get("_id", 1) in (1, True):
        project = projection.compile_projection(spec)
        if project is not None:
            return lambda events: [project(e) for e in events]
    return None


async def open_change_stream(ctx: Context, pipeline: list[Any]) -> Reply:
    spec = pipeline[0]["$changeStream"]
    if not isinstance(spec, Mapping):
        raise errors.CommandError(14, "TypeMismatch", "$changeStream must be an object")
    if ctx.txn is not None:
        raise errors.CommandError(
            263,
            "OperationNotSupportedInTransaction",
            "$changeStream is not allowed in a transaction",
        )
    target = ctx.body["aggregate"]
    collection = target if isinstance(target, str) else None
    cluster = bool(spec.get("allChangesForCluster"))
    full_document = str(spec.get("fullDocument", "default"))
    rest = list(pipeline[1:])
    stages = _stages(rest)
    state = {"position": _start(ctx, spec)}

    def read() -> list[Any]:
        changes = [
            c
            for c in ctx.store.changes.after(state["position"])
            if _in_scope(ctx, c, collection, cluster)
        ]
        if changes:
            state["position"] = changes[-1].position
        else:
            state["position"] = max(state["position"], ctx.store.changes.last_position)
        events = [_event(ctx, c, full_document) for c in changes]
        return stages(events) if rest and events else events

    async def more(_: Context, wait: float) -> list[Any]:
        batch = read()
        if not batch:
            await ctx.store.changes.wait(max(0.0, min(wait, 10.0)))
            batch = read()
        return batch

    cursor_id = ctx.cursors.new_id()
    namespace = f"{ctx.db}.{collection}" if collection else f"{ctx.db}.$cmd.aggregate"
    ctx.cursors.open[cursor_id] = Cursor(
        cursor_id,
        namespace,
        [],
        0,
        ctx.session,
        more=more,
        post_batch=lambda: {"postBatchResumeToken": token(state["position"])},
    )
    return {
        "cursor": {
            "firstBatch": [],
            "id": cursor_id,
            "ns": namespace,
            "postBatchResumeToken": token(state["position"]),
        },
        "ok": 1,
    }
