"""Flat `$set` / `$currentDate` updates of many documents in SQL, without decoding them.

The engine updates one document at a time: it reads every match and decodes its JSON, then per
document reads and decodes it again, writes it back, and reads and decodes it once more. For the
most common bulk update (flip a status, stamp a time, as a relay marking events published does)
that costs about 100 µs per document. This module runs such an `update_many` as two statements:
one SELECT of the matching rows, with the WHERE clause the engine's own `find` builds for the
filter, and one `UPDATE ... SET data = json_set(...)` of those rows. It changes exactly the
documents `find` returns for the filter and writes the JSON the engine writes. (The engine's
own `update_many` may translate a filter differently: on an indexed field `find` treats an
equality as scalar, its update also matches arrays holding the value.)

Only plain cases take this path: top-level fields, string / integer / null values, `$currentDate`
as a date, filters of equality, comparisons, `$in` and `$nin` on strings and integers. Anything
else (nested or array paths, other operators, datetimes, upserts, array filters) and any
statement SQLite refuses (a unique index, a validator) goes to the engine unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from neosqlite._sqlite import sqlite3  # the engine's driver: pysqlite3 when installed
from neosqlite.collection.query_engine import QueryEngine
from neosqlite.collection.type_utils import validate_session
from neosqlite.results import UpdateResult
from neosqlite.sql_utils import quote_table_name

_original = QueryEngine.update_many

FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMPARISONS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
MEMBERSHIP = frozenset({"$in", "$nin"})
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"  # the engine's own `$currentDate` value
INT64 = range(-(2**63), 2**63)


def _scalar(value: object) -> bool:
    """A string or an integer that SQLite and JSON hold as exactly that (bools are not)."""
    return isinstance(value, str) or (type(value) is int and value in INT64)


def _field(name: object) -> bool:
    return isinstance(name, str) and name != "_id" and FIELD.fullmatch(name) is not None


def _plain_condition(condition: object) -> bool:
    if not isinstance(condition, dict):
        return _scalar(condition)
    return bool(condition) and all(
        (operator in COMPARISONS and _scalar(operand))
        or (
            operator in MEMBERSHIP
            and isinstance(operand, list)
            and all(_scalar(value) for value in operand)
        )
        for operator, operand in condition.items()
    )


def plain_filter(query: Mapping[str, Any]) -> bool:
    """Top-level fields compared with strings or integers: what `find` evaluates in SQL."""
    return all(_field(name) and _plain_condition(value) for name, value in query.items())


def plain_update(update: Mapping[str, Any]) -> bool:
    """Only `$set` of top-level strings, integers and nulls, and `$currentDate` as dates."""
    if not update or not set(update) <= {"$set", "$currentDate"}:
        return False
    sets, dates = update.get("$set", {}), update.get("$currentDate", {})
    if not isinstance(sets, dict) or not isinstance(dates, dict) or not (sets or dates):
        return False
    if not all(_field(name) for name in [*sets, *dates]) or sets.keys() & dates.keys():
        return False
    if not all(value is None or _scalar(value) for value in sets.values()):
        return False
    return all(spec is True or spec == {"$type": "date"} for spec in dates.values())


def _unchanged(fn: str, sets: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL true for a document that already holds every value of `$set` (same JSON type)."""
    clauses, params = [], []
    for name, value in sets.items():
        path = f"'$.{name}'"
        if value is None:
            clauses.append(f"{fn}_type(data, {path}) IS 'null'")
        else:
            kind = "text" if isinstance(value, str) else "integer"
            same = f"{fn}_type(data, {path}) IS '{kind}' AND {fn}_extract(data, {path}) = ?"
            clauses.append(f"({same})")
            params.append(value)
    return " AND ".join(clauses), params


def fast_update_many(
    engine: Any,
    filter: dict[str, Any],
    update: dict[str, Any],
    upsert: bool = False,
    array_filters: list[dict[str, Any]] | None = None,
    session: Any = None,
) -> UpdateResult:
    if upsert or array_filters or not plain_update(update) or not plain_filter(filter):
        return _original(engine, filter, update, upsert, array_filters, session)
    collection = engine.collection
    validate_session(session, collection._database)
    built = engine.helpers._build_simple_where_clause(filter)  # no `_id`: nothing to normalize
    if built is None or built[2]:  # evaluated in Python, or with temporary tables
        return _original(engine, filter, update, upsert, array_filters, session)
    where, where_params, _ = built
    fn = engine.jsonb.json_function_prefix
    table = quote_table_name(collection.name)
    sets, dates = update.get("$set", {}), update.get("$currentDate", {})
    assignments = [f"'$.{name}', ?" for name in sets]
    assignments += [f"'$.{name}', {fn}_object('$date', {NOW})" for name in dates]
    matching = f"SELECT id FROM {table} {where}"
    condition = "WHERE id IN (SELECT value FROM json_each(?))"
    changed_params: list[Any] = []
    if not dates:  # a `$currentDate` changes every match; a `$set` may change none
        unchanged, changed_params = _unchanged(fn, sets)
        condition += f" AND NOT ({unchanged})"
    db = collection.db
    try:
        ids = [row[0] for row in db.execute(matching, where_params)]  # the filter, evaluated once
        if not ids:
            return UpdateResult(matched_count=0, modified_count=0, upserted_id=None)
        cursor = db.execute(
            f"UPDATE {table} SET data = {fn}_set(data, {', '.join(assignments)}) {condition}",
            [*sets.values(), json.dumps(ids), *changed_params],
        )
    except sqlite3.IntegrityError:  # rolled back: the engine reports it its own way
        return _original(engine, filter, update, upsert, array_filters, session)
    return UpdateResult(matched_count=len(ids), modified_count=cursor.rowcount, upserted_id=None)


def enable_fast_updates() -> None:
    """Routes the engine's `update_many` through the SQL path where it applies."""
    QueryEngine.update_many = fast_update_many
