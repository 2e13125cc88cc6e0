"""The handshake, server facts, and the catalog: collections, views and indexes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from devdb import errors
from devdb.commands.context import ENVELOPE, Context, Reply
from devdb.commands.reads import first_batch
from devdb.query import compile_filter
from devdb.store.collection import Collection
from devdb.store.indexes import Index

SET_NAME = "devdb"
VERSION = "8.0.0"
ELECTION_ID = ObjectId("7fffffff0000000000000001")
AWAITABLE_HELLO_SECONDS = 0.25  # well under the server's ORPHAN_GRACE_SECONDS (1 s)


async def hello(ctx: Context) -> Reply:
    """A one-member replica set's primary, as drivers and Beanie see MongoDB in compose."""
    await _awaitable(ctx)
    host = ctx.server.advertised
    return {
        "helloOk": True,
        "ismaster": True,
        "isWritablePrimary": True,
        "secondary": False,
        "setName": SET_NAME,
        "setVersion": 1,
        "hosts": [host],
        "primary": host,
        "me": host,
        "electionId": ELECTION_ID,
        "lastWrite": {"lastWriteDate": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)},
        "topologyVersion": {"processId": ctx.server.process_id, "counter": 0},
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": ctx.server.connection_id,
        "minWireVersion": 0,
        "maxWireVersion": 25,  # MongoDB 8.0: client-level bulkWrite
        "readOnly": False,
        "ok": 1,
    }


async def _awaitable(ctx: Context) -> None:
    """A driver's streaming monitor sends the topologyVersion it knows and maxAwaitTimeMS; mongod
    answers when the topology changes or that time is up. This one-member set never changes, so
    the answer waits too (answering at once made every client's monitor spin, ~1,400 hellos a
    second each), but at most AWAITABLE_HELLO_SECONDS: a driver that marks the server unknown
    after a state-change error (a failpoint's code 91 in tests) cannot cut a waiting hello
    short, and this server aborts a transaction ORPHAN_GRACE_SECONDS after its client's
    connections closed, so the driver must find the server again well within that."""
    known, wait_ms = ctx.body.get("topologyVersion"), ctx.body.get("maxAwaitTimeMS")
    if not isinstance(known, Mapping) or not isinstance(wait_ms, int | float) or wait_ms <= 0:
        return
    if known.get("processId") != ctx.server.process_id or known.get("counter") != 0:
        return  # another server's or an older topology: the news at once
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            ctx.server.closing.wait(), min(wait_ms / 1000, AWAITABLE_HELLO_SECONDS)
        )


async def ping(_: Context) -> Reply:
    return {"ok": 1}


async def build_info(_: Context) -> Reply:
    return {
        "version": VERSION,
        "versionArray": [8, 0, 0, 0],
        "gitVersion": "devdb",
        "bits": 64,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "storageEngines": ["devdb"],
        "ok": 1,
    }


async def get_parameter(ctx: Context) -> Reply:
    reply: Reply = {"ok": 1}
    if ctx.body.get("featureCompatibilityVersion"):
        reply["featureCompatibilityVersion"] = {"version": "8.0"}
    return reply


async def nothing(_: Context) -> Reply:
    return {"ok": 1}


async def list_databases(ctx: Context) -> Reply:
    names = sorted(ctx.store.databases())
    if ctx.body.get("nameOnly"):
        return {"databases": [{"name": n} for n in names], "ok": 1}
    return {
        "databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names],
        "totalSize": 0,
        "ok": 1,
    }


def _describe(collection: Collection) -> dict[str, Any]:
    options = {k: v for k, v in collection.options.items()}
    kind = (
        "view" if collection.is_view else "timeseries" if "timeseries" in options else "collection"
    )
    info: dict[str, Any] = {"name": collection.name, "type": kind, "options": options}
    info["info"] = {"readOnly": collection.is_view}
    if kind == "collection":
        info["idIndex"] = {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    return info


async def list_collections(ctx: Context) -> Reply:
    described = [_describe(c) for c in ctx.store.collections(ctx.db, ctx.txn)]
    described.sort(key=lambda d: d["name"])
    filter = ctx.body.get("filter") or {}
    if filter:
        predicate = compile_filter(filter)
        described = [d for d in described if predicate(d)]
    if ctx.body.get("nameOnly"):
        described = [{"name": d["name"], "type": d["type"]} for d in described]
    batch_size = (ctx.body.get("cursor") or {}).get("batchSize")
    reply = first_batch(ctx, described, batch_size=batch_size)
    reply["cursor"]["ns"] = f"{ctx.db}.$cmd.listCollections"
    return reply


async def create(ctx: Context) -> Reply:
    name = ctx.collection_name()
    options = {k: v for k, v in ctx.body.items() if k != "create" and k not in ENVELOPE}
    if "viewOn" in options and not isinstance(options.get("pipeline", []), list):
        raise errors.CommandError(14, "TypeMismatch", "'pipeline' must be an array")
    if isinstance(options.get("timeseries"), Mapping):
        options["timeseries"] = _timeseries(options["timeseries"])
    ctx.store.create(ctx.db, name, options, ctx.txn)
    return {"ok": 1}


BUCKET_SPANS = {"seconds": 3600, "minutes": 86400, "hours": 2592000}


def _timeseries(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Time-series options with MongoDB's defaults filled in, in its order."""
    granularity = spec.get("granularity", "seconds")
    shown = {"timeField": spec.get("timeField")}
    if "metaField" in spec:
        shown["metaField"] = spec["metaField"]
    shown["granularity"] = granularity
    shown["bucketMaxSpanSeconds"] = spec.get(
        "bucketMaxSpanSeconds", BUCKET_SPANS.get(granularity, 3600)
    )
    return shown


async def drop(ctx: Context) -> Reply:
    collection = ctx.collection()
    if collection is None:
        return {"ok": 1}  # MongoDB 7 drops a missing collection quietly
    ctx.store.drop(collection)
    return {"nIndexesWas": len(collection.indexes), "ns": collection.namespace, "ok": 1}


async def drop_database(ctx: Context) -> Reply:
    for collection in list(ctx.store.collections(ctx.db)):
        ctx.store.drop(collection)
    return {"dropped": ctx.db, "ok": 1}


def _index_name(keys: Mapping[str, Any]) -> str:
    return "_".join(f"{field}_{kind}" for field, kind in keys.items())


async def create_indexes(ctx: Context) -> Reply:
    collection = ctx.ensure()
    specs = ctx.body.get("indexes")
    if not isinstance(specs, list) or not specs:
        raise errors.bad_value("Must specify at least one index")
    before = len(collection.indexes)
    for spec in specs:
        _create_index(ctx, collection, spec)
    return {
        "numIndexesBefore": before,
        "numIndexesAfter": len(collection.indexes),
        "createdCollectionAutomatically": False,
        "ok": 1,
    }


def _create_index(ctx: Context, collection: Collection, spec: Any) -> None:
    keys = spec.get("key") if isinstance(spec, Mapping) else None
    if not isinstance(keys, Mapping) or not keys:
        raise errors.CommandError(
            67, "CannotCreateIndex", "index key pattern must be a non-empty object"
        )
    name = spec.get("name") or _index_name(keys)
    spec = {
        "v": 2,
        "key": dict(keys),
        "name": name,
        **{k: v for k, v in spec.items() if k not in ("key", "name", "v")},
    }
    if "text" in keys.values():
        spec = _text_spec(spec)
    for existing in collection.indexes.values():
        if existing.name == name or dict(existing.keys) == dict(keys):
            if existing.name == name and dict(existing.keys) != dict(keys):
                raise errors.CommandError(
                    86,
                    "IndexKeySpecsConflict",
                    f"An existing index has the same name as the requested index: {name}",
                )
            if existing.name != name and existing.name != "_id_":
                raise errors.CommandError(
                    85,
                    "IndexOptionsConflict",
                    f"Index already exists with a different name: {existing.name}",
                )
            return
    index = Index(name, list(keys.items()), spec)
    if index.unique and index.hashable and index.partial is None:
        seen: dict[Any, Any] = {}
        for key, doc, _ in ctx.store.documents(collection, None):
            for entry in index.index_keys(doc):
                if entry in seen and seen[entry] != key:
                    raise errors.CommandError(
                        11000,
                        "DuplicateKey",
                        f"E11000 duplicate key error collection: {collection.namespace} "
                        f"index: {name}",
                    )
                seen[entry] = key
    ctx.store.add_index(collection, index)


def _text_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A text index as MongoDB lists it: `_fts`/`_ftsx` keys, the fields as weights."""
    keys: dict[str, Any] = spec["key"]
    weights = dict(spec.get("weights") or {})
    key: dict[str, Any] = {}
    for field, kind in keys.items():
        if kind == "text":
            weights.setdefault(field, 1)
            key.setdefault("_fts", "text")
            key.setdefault("_ftsx", 1)
        else:
            key[field] = kind
    return {
        **spec,
        "key": key,
        "weights": weights,
        "default_language": spec.get("default_language", "english"),
        "language_override": spec.get("language_override", "language"),
        "textIndexVersion": 3,
    }


async def list_indexes(ctx: Context) -> Reply:
    collection = ctx.collection()
    if collection is None:
        raise errors.namespace_not_found(f"ns does not exist: {ctx.namespace()}")
    specs = [dict(index.spec) for index in collection.indexes.values()]
    batch_size = (ctx.body.get("cursor") or {}).get("batchSize")
    return first_batch(ctx, specs, batch_size=batch_size)


async def drop_indexes(ctx: Context) -> Reply:
    collection = ctx.collection()
    if collection is None:
        raise errors.namespace_not_found(f"ns not found {ctx.namespace()}")
    target = ctx.body.get("index")
    before = len(collection.indexes)
    names: list[str]
    if target == "*":
        names = [n for n in collection.indexes if n != "_id_"]
    elif isinstance(target, str):
        names = [target]
    elif isinstance(target, list):
        names = [str(n) for n in target]
    elif isinstance(target, Mapping):
        names = [i.name for i in collection.indexes.values() if dict(i.keys) == dict(target)]
        if not names:
            raise errors.CommandError(
                27, "IndexNotFound", f"can't find index with key: {dict(target)}"
            )
    else:
        raise errors.bad_value("index must be a name, a key pattern or '*'")
    for name in names:
        if name == "_id_":
            raise errors.CommandError(72, "InvalidOptions", "cannot drop _id index")
        if name not in collection.indexes:
            raise errors.CommandError(27, "IndexNotFound", f"index not found with name [{name}]")
    for name in names:
        del collection.indexes[name]
    ctx.store.save_catalog(collection)
    return {"nIndexesWas": before, "ok": 1}


async def rename_collection(ctx: Context) -> Reply:
    source, target = str(ctx.body["renameCollection"]), str(ctx.body.get("to", ""))
    source_db, _, source_name = source.partition(".")
    target_db, _, target_name = target.partition(".")
    collection = ctx.store.collection(source_db, source_name)
    if collection is None:
        raise errors.namespace_not_found(f"Source collection {source} does not exist")
    existing = ctx.store.collection(target_db, target_name)
    if existing is not None:
        if not ctx.body.get("dropTarget"):
            raise errors.namespace_exists(target)
        ctx.store.drop(existing)
    ctx.store.rename(collection, target_db, target_name)
    return {"ok": 1}


async def coll_mod(ctx: Context) -> Reply:
    collection = ctx.collection()
    if collection is None:
        raise errors.namespace_not_found(f"ns does not exist: {ctx.namespace()}")
    for option, value in ctx.body.items():
        if option == "collMod" or option in ENVELOPE:
            continue
        if option == "index" and isinstance(value, Mapping):
            for index in collection.indexes.values():
                if index.name == value.get("name") or dict(index.keys) == dict(
                    value.get("keyPattern") or {}
                ):
                    index.spec.update(
                        {k: v for k, v in value.items() if k not in ("name", "keyPattern")}
                    )
        else:
            collection.options[option] = value
    ctx.store.save_catalog(collection)
    return {"ok": 1}


async def db_stats(ctx: Context) -> Reply:
    collections = ctx.store.collections(ctx.db)
    objects = sum(len(c.records) for c in collections)
    return {
        "db": ctx.db,
        "collections": len(collections),
        "views": sum(c.is_view for c in collections),
        "objects": objects,
        "dataSize": 0,
        "storageSize": 0,
        "indexes": sum(len(c.indexes) for c in collections),
        "ok": 1,
    }


async def coll_stats(ctx: Context) -> Reply:
    collection = ctx.collection()
    count = len(collection.records) if collection else 0
    return {
        "ns": ctx.namespace(),
        "count": count,
        "size": 0,
        "storageSize": 0,
        "nindexes": len(collection.indexes) if collection else 0,
        "ok": 1,
    }


async def server_status(ctx: Context) -> Reply:
    return {
        "host": ctx.server.advertised,
        "version": VERSION,
        "process": "devdb",
        "uptime": 0,
        "connections": {"current": len(ctx.server.writers)},
        "ok": 1,
    }


async def connection_status(_: Context) -> Reply:
    return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}, "ok": 1}


async def whatsmyuri(_: Context) -> Reply:
    return {"you": "127.0.0.1:0", "ok": 1}
