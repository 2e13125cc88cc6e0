"""Command names and their handlers, and which of them a transaction may run."""

from __future__ import annotations

from devdb.commands import admin, bulkwrite, reads, writes
from devdb.commands.context import Handler

HANDLERS: dict[str, Handler] = {
    "hello": admin.hello,
    "isMaster": admin.hello,
    "ismaster": admin.hello,
    "ping": admin.ping,
    "buildInfo": admin.build_info,
    "buildinfo": admin.build_info,
    "getParameter": admin.get_parameter,
    "endSessions": admin.nothing,
    "killAllSessions": admin.nothing,
    "refreshSessions": admin.nothing,
    "getLastError": admin.nothing,
    "listDatabases": admin.list_databases,
    "listCollections": admin.list_collections,
    "create": admin.create,
    "drop": admin.drop,
    "dropDatabase": admin.drop_database,
    "createIndexes": admin.create_indexes,
    "listIndexes": admin.list_indexes,
    "dropIndexes": admin.drop_indexes,
    "deleteIndexes": admin.drop_indexes,
    "renameCollection": admin.rename_collection,
    "collMod": admin.coll_mod,
    "dbStats": admin.db_stats,
    "collStats": admin.coll_stats,
    "serverStatus": admin.server_status,
    "connectionStatus": admin.connection_status,
    "whatsmyuri": admin.whatsmyuri,
    "find": reads.find,
    "getMore": reads.get_more,
    "killCursors": reads.kill_cursors,
    "count": reads.count,
    "distinct": reads.distinct,
    "aggregate": reads.aggregate,
    "insert": writes.insert,
    "update": writes.update,
    "delete": writes.delete,
    "findAndModify": writes.find_and_modify,
    "findandmodify": writes.find_and_modify,
    "bulkWrite": bulkwrite.bulk_write,
}

IN_TRANSACTION = frozenset(
    {
        "find",
        "getMore",
        "killCursors",
        "distinct",
        "aggregate",
        "insert",
        "update",
        "delete",
        "findAndModify",
        "findandmodify",
        "bulkWrite",
        "create",
        "createIndexes",
        "commitTransaction",
        "abortTransaction",
        "count",
    }
)
"""What MongoDB lets a transaction run (count too: drivers' count_documents uses aggregate)."""

UNGATED = frozenset(
    {
        "hello",
        "isMaster",
        "ismaster",
        "ping",
        "buildInfo",
        "buildinfo",
        "getParameter",
        "endSessions",
    }
)
"""Commands that touch no data and never fail through a failpoint."""
