"""MongoDB's update operators on BSON documents: the native fast path for the common subset.

`compile_update` accepts `$set`, `$unset`, `$inc`, `$min`, `$max`, `$currentDate` (as a date),
`$setOnInsert`, `$push` and `$addToSet` (a value or a plain `$each`) and `$pull` (of a scalar) on
dotted paths through embedded documents. It returns None for any other update, and the caller
uses mongoeco's engine (`semantics.full`). `NativeUpdate.apply` raises `Unsupported`, before it
changes anything, when a document's shape needs more (an array on the path, `$inc` on a
non-number...): the caller then falls back for that document too, and mongoeco raises MongoDB's
own error where there is one. Collation is not considered: a caller with one must not use this.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final

import bson
from bson import DatetimeMS
from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

from devdb.bsonvalues import compare, equality_key
from devdb.semantics.sentinel import Sentinel

_INT32: Final = range(-(2**31), 2**31)
_INT64: Final = range(-(2**63), 2**63)
# Deeper values than this are left to mongoeco: MongoDB limits nesting, and recursion is finite.
_MAX_DEPTH: Final = 100
_EPOCH: Final = datetime(1970, 1, 1)


class Unsupported(Exception):  # noqa: N818 - the callers' name for "use mongoeco instead"
    """The native path cannot apply this update to this document: use mongoeco instead."""


_MISSING: Final = Sentinel("MISSING")  # no value at the path
_KEEP: Final = Sentinel("KEEP")  # the operator leaves the field as it is
_DELETE: Final = Sentinel("DELETE")  # the operator removes the field

# What one operator makes of a field's current value (or _MISSING), given the update's clock.
Compute = Callable[[Any, datetime | None], Any]
# One operator on one path: the path's parent fields, its last field, the operator.
Step = tuple[tuple[str, ...], str, Compute]

# Values of these types equal in Python are equal in BSON bytes too (an int's BSON type follows
# from its value), so the no-op test needs no encoding for them.
_PLAIN: Final[frozenset[type]] = frozenset({str, bool, int, Int64, type(None), ObjectId, datetime})
_NUMBERS: Final[frozenset[type]] = frozenset({int, float, Int64})
_SCALARS: Final[frozenset[type]] = frozenset(
    {type(None), bool, int, Int64, float, str, bytes, Binary, ObjectId, datetime, Timestamp}
)
_LEAVES: Final[frozenset[type]] = _SCALARS | frozenset(
    {Decimal128, Regex, DBRef, Code, MinKey, MaxKey, DatetimeMS}
)


class NativeUpdate:
    """A compiled update document, applied to one document at a time."""

    __slots__ = ("_clock", "_inserting", "_updating")

    def __init__(self, steps: list[tuple[Step, bool]], *, clock: bool) -> None:
        # Steps come in MongoDB's order, lexicographic by path, which fixes where new fields go.
        self._inserting = tuple(step for step, _ in steps)
        self._updating = tuple(step for step, insert_only in steps if not insert_only)
        self._clock = clock

    def apply(self, doc: dict[str, Any], *, inserting: bool = False) -> bool:
        """Updates `doc` in place; True when it changed (MongoDB's nModified)."""
        now = _now() if self._clock else None
        # Every new value is worked out before any is written, so Unsupported leaves doc whole.
        changes: list[tuple[Step, dict[str, Any] | None, Any]] = []
        for step in self._inserting if inserting else self._updating:
            parents, key, compute = step
            parent = _parent(doc, parents) if parents else doc
            new = compute(_MISSING if parent is None else parent.get(key, _MISSING), now)
            if new is not _KEEP:
                changes.append((step, parent, new))
        for (parents, key, _), parent, new in changes:
            target = _make_parents(doc, parents) if parent is None else parent
            if new is _DELETE:
                del target[key]
            else:
                target[key] = new
        return bool(changes)


def compile_update(spec: Mapping[str, Any]) -> NativeUpdate | None:
    """The native form of an operator update document, or None when mongoeco must apply it."""
    if not isinstance(spec, Mapping) or not spec:
        return None
    steps: list[tuple[tuple[str, ...], Compute, bool]] = []
    for operator, operands in spec.items():
        factory = _FACTORIES.get(operator) if isinstance(operator, str) else None
        if factory is None or not isinstance(operands, Mapping) or not operands:
            return None
        for dotted, operand in operands.items():
            path = _path(dotted)
            compute = factory(operand)
            if path is None or compute is None:
                return None
            steps.append((path, compute, operator == "$setOnInsert"))
    steps.sort(key=lambda step: step[0])
    if _conflicting([path for path, _, _ in steps]):
        return None
    return NativeUpdate(
        [((path[:-1], path[-1], compute), once) for path, compute, once in steps],
        clock="$currentDate" in spec,
    )


def _path(dotted: object) -> tuple[str, ...] | None:
    """The fields of a plain dotted path; None for `_id`, positional or numeric parts."""
    if not isinstance(dotted, str) or "\x00" in dotted:
        return None
    parts = tuple(dotted.split("."))
    if parts[0] == "_id" or any(not p or p[0] == "$" or p.isdigit() for p in parts):
        return None
    return parts


def _conflicting(paths: list[tuple[str, ...]]) -> bool:
    """Whether a sorted list of paths repeats one, or holds one and a path inside it."""
    return any(later[: len(earlier)] == earlier for earlier, later in pairwise(paths))


def _parent(doc: dict[str, Any], parents: tuple[str, ...]) -> dict[str, Any] | None:
    """The document holding the path's last field; None when one along the way is missing."""
    node = doc
    for name in parents:
        child = node.get(name, _MISSING)
        if child is _MISSING:
            return None
        if not isinstance(child, dict):
            raise Unsupported(f"path through a non-document at {name!r}")
        node = child
    return node


def _make_parents(doc: dict[str, Any], parents: tuple[str, ...]) -> dict[str, Any]:
    """The path's parent document, creating the missing ones as MongoDB does."""
    node = doc
    for name in parents:
        # The first pass saw only documents or nothing here, and no other step sets these.
        child = node.get(name)
        if child is None:
            child = node[name] = {}
        node = child
    return node


class _Clock:
    """The current time as MongoDB stores it (naive UTC, to the millisecond), made once per ms."""

    __slots__ = ("_ms", "_time")

    def __init__(self) -> None:
        self._ms = -1
        self._time = _EPOCH

    def __call__(self) -> datetime:
        ms = time.time_ns() // 1_000_000
        if ms != self._ms:
            # Building the datetime is most of the cost, and a busy server asks many times a ms.
            self._ms, self._time = ms, _EPOCH + timedelta(milliseconds=ms)
        return self._time


_now: Final = _Clock()


def _clone(value: Any) -> Any:
    """A copy of `value` that shares no mutable part with it (BSON scalars are immutable)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _identical(a: Any, b: Any) -> bool:
    """Whether two values have the same BSON type and bytes, MongoDB's test for a no-op write."""
    kind = type(a)
    if kind is type(b):
        if kind in _PLAIN:
            return bool(a == b)
        if kind is float:
            # -0.0 == 0.0 and NaN != NaN in Python; MongoDB compares the bytes.
            return struct.pack("<d", a) == struct.pack("<d", b)
    return _encoded(a) == _encoded(b)


def _encoded(value: Any) -> bytes:
    """The BSON bytes of `value` inside a one-field document."""
    try:
        return bson.encode({"": value})
    except Exception as e:  # an unencodable value is mongoeco's to judge
        raise Unsupported(f"cannot encode {type(value).__name__}") from e


def _storable(value: Any, depth: int = 0) -> bool:
    """Whether `value` may be written as it is: BSON types, plain field names, bounded depth."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k and k[0] != "$" and "." not in k and "\x00" not in k
            for k in value
        ) and all(_storable(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_storable(v, depth + 1) for v in value)
    if type(value) is int:
        return value in _INT64
    return type(value) in _LEAVES


def _is_int64(value: int) -> bool:
    """Whether an integer is stored as BSON int64 (an Int64, or too big for int32)."""
    return type(value) is Int64 or value not in _INT32


def _sum(current: Any, amount: Any) -> Any:
    """`current + amount` with MongoDB's $inc typing: int32 widens to int64, never beyond."""
    kind = type(current)
    if kind not in _NUMBERS:
        raise Unsupported(f"$inc of a {kind.__name__}")
    if kind is float or type(amount) is float:
        return float(current) + float(amount)
    total = int(current) + int(amount)
    if total not in _INT32 or _is_int64(current) or _is_int64(amount):
        if total not in _INT64:
            raise Unsupported("$inc overflows int64")
        return Int64(total)
    return total


def _set(value: Any) -> Compute | None:
    """$set and $setOnInsert: the value, unless the field holds an identical one."""
    if not _storable(value):
        return None
    mutable = isinstance(value, dict | list)

    def compute(current: Any, _: datetime | None) -> Any:
        if current is not _MISSING and _identical(current, value):
            return _KEEP
        return _clone(value) if mutable else value

    return compute


def _unset(_: Any) -> Compute:
    """$unset: removes the field when there is one (the operand is ignored, as by MongoDB)."""

    def compute(current: Any, _: datetime | None) -> Any:
        return _KEEP if current is _MISSING else _DELETE

    return compute


def _inc(amount: Any) -> Compute | None:
    """$inc by an int, int64 or double (a missing field starts at the amount)."""
    if type(amount) not in _NUMBERS or (type(amount) is int and amount not in _INT64):
        return None

    def compute(current: Any, _: datetime | None) -> Any:
        if current is _MISSING:
            return amount
        total = _sum(current, amount)
        return _KEEP if _identical(total, current) else total

    return compute


def _extreme(sign: int) -> Callable[[Any], Compute | None]:
    """$min (sign -1) or $max (+1): the operand when it orders beyond the current value."""

    def factory(value: Any) -> Compute | None:
        if not _storable(value):
            return None
        mutable = isinstance(value, dict | list)

        def compute(current: Any, _: datetime | None) -> Any:
            if current is not _MISSING and compare(value, current) * sign <= 0:
                return _KEEP
            return _clone(value) if mutable else value

        return compute

    return factory


def _current_date(operand: Any) -> Compute | None:
    """$currentDate as a date (true or {$type: "date"}): always a change, as in MongoDB."""
    as_date = operand is True or (
        isinstance(operand, Mapping) and len(operand) == 1 and operand.get("$type") == "date"
    )
    return _stamp if as_date else None


def _stamp(_: Any, now: datetime | None) -> Any:
    """The update's clock reading."""
    return now


def _values(operand: Any) -> list[Any] | None:
    """The values a $push or $addToSet adds: its `$each` list, or the operand itself."""
    if isinstance(operand, Mapping) and "$each" in operand:
        each = operand["$each"]
        if len(operand) != 1 or not isinstance(each, list):
            return None  # $position, $slice, $sort: mongoeco's
        values = list(each)
    else:
        values = [operand]
    return values if all(_storable(v) for v in values) else None


def _appended(current: Any, values: Iterable[Any]) -> Any:
    """The array `current` with copies of `values` at its end; _MISSING starts an empty one."""
    if current is _MISSING:
        return [_clone(v) for v in values]
    if not isinstance(current, list):
        raise Unsupported("array operator on a non-array")
    return [*current, *(_clone(v) for v in values)]


def _push(operand: Any) -> Compute | None:
    """$push of a value or of `$each` values, at the end of the array."""
    values = _values(operand)
    if values is None:
        return None

    def compute(current: Any, _: datetime | None) -> Any:
        if not values and isinstance(current, list):
            return _KEEP  # an empty $each onto an array is a no-op in MongoDB
        return _appended(current, values)

    return compute


def _add_to_set(operand: Any) -> Compute | None:
    """$addToSet: appends the values no element equals (1, 1.0 and Int64(1) are one value)."""
    values = _values(operand)
    if values is None:
        return None
    # MongoDB drops repeats among the values first, keeping the first of each.
    unique: dict[Any, Any] = {}
    for value in values:
        unique.setdefault(equality_key(value), value)
    keys, values = list(unique), list(unique.values())

    def compute(current: Any, _: datetime | None) -> Any:
        if current is _MISSING or not isinstance(current, list):
            return _appended(current, values)
        present = {equality_key(element) for element in current}
        added = [v for v, k in zip(values, keys, strict=True) if k not in present]
        return _appended(current, added) if added else _KEEP

    return compute


def _pull(value: Any) -> Compute | None:
    """$pull of a scalar: removes the elements equal to it (numbers compare across types)."""
    if type(value) not in _SCALARS:
        return None  # conditions, documents, arrays, regexes: mongoeco's
    key = equality_key(value)

    def compute(current: Any, _: datetime | None) -> Any:
        if current is _MISSING:
            return _KEEP
        if not isinstance(current, list):
            raise Unsupported("$pull from a non-array")
        kept = [element for element in current if equality_key(element) != key]
        return kept if len(kept) != len(current) else _KEEP

    return compute


_FACTORIES: Final[dict[str, Callable[[Any], Compute | None]]] = {
    "$set": _set,
    "$setOnInsert": _set,
    "$unset": _unset,
    "$inc": _inc,
    "$min": _extreme(-1),
    "$max": _extreme(1),
    "$currentDate": _current_date,
    "$push": _push,
    "$addToSet": _add_to_set,
    "$pull": _pull,
}
