"""devdb: a MongoDB wire-protocol server in Python, for development and CI.

Documents live in memory as real BSON values (persisted to SQLite when given a data
directory), transactions get snapshot isolation, and query, update and aggregation
semantics come from a native fast path with mongoeco's engine behind it for the rest.
"""
