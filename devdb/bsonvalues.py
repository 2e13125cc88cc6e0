"""BSON values the way MongoDB orders and equates them: type ranks, a total order, hash keys.

Documents are the dicts pymongo's `bson` decodes with `CODEC`. MongoDB compares numbers by
value across int, long, double and decimal, documents field by field in their order, arrays
element by element, and values of different types by a fixed type order; `compare`,
`sort_key` and `equality_key` give that to sorting, indexes, $in sets, distinct and grouping.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable, Hashable, Mapping
from decimal import Decimal
from typing import Any, Final

from bson import CodecOptions, DatetimeConversion, DatetimeMS
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

CODEC: Final[CodecOptions[dict[str, Any]]] = CodecOptions(
    document_class=dict,
    tz_aware=False,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)

# MongoDB's canonical type ranks (canonicalizeBSONType): the gaps are its own.
MINKEY_RANK: Final = -1
NULL_RANK: Final = 5
NUMBER_RANK: Final = 10
STRING_RANK: Final = 15
OBJECT_RANK: Final = 20
ARRAY_RANK: Final = 25
BINARY_RANK: Final = 30
OBJECTID_RANK: Final = 35
BOOL_RANK: Final = 40
DATE_RANK: Final = 45
TIMESTAMP_RANK: Final = 47
REGEX_RANK: Final = 50
CODE_RANK: Final = 60
CODE_WITH_SCOPE_RANK: Final = 65
MAXKEY_RANK: Final = 127

Number = int | float | Decimal

_RANK_BY_TYPE: Final[dict[type, int]] = {
    type(None): NULL_RANK,
    bool: BOOL_RANK,
    int: NUMBER_RANK,
    Int64: NUMBER_RANK,
    float: NUMBER_RANK,
    Decimal128: NUMBER_RANK,
    str: STRING_RANK,
    dict: OBJECT_RANK,
    DBRef: OBJECT_RANK,
    list: ARRAY_RANK,
    bytes: BINARY_RANK,
    Binary: BINARY_RANK,
    uuid.UUID: BINARY_RANK,
    ObjectId: OBJECTID_RANK,
    datetime.datetime: DATE_RANK,
    DatetimeMS: DATE_RANK,
    Timestamp: TIMESTAMP_RANK,
    Regex: REGEX_RANK,
    MinKey: MINKEY_RANK,
    MaxKey: MAXKEY_RANK,
}

# Subclasses (SON, OrderedDict, Int64's and Binary's own) rank as their first listed base:
# bool before int and Binary before bytes, since each is a subclass of the next.
_RANK_BY_BASE: Final[tuple[tuple[type, int], ...]] = (
    (bool, BOOL_RANK),
    (int, NUMBER_RANK),
    (float, NUMBER_RANK),
    (str, STRING_RANK),
    (dict, OBJECT_RANK),
    (list, ARRAY_RANK),
    (Binary, BINARY_RANK),
    (bytes, BINARY_RANK),
    (datetime.datetime, DATE_RANK),
)

_EPOCH: Final = datetime.datetime(1970, 1, 1)
_ONE_MS: Final = datetime.timedelta(milliseconds=1)
_REGEX_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.LOCALE, "l"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.UNICODE, "u"),
    (re.VERBOSE, "x"),
)


def type_rank(value: Any) -> int:
    """MongoDB's rank of `value`'s type in the BSON comparison order."""
    rank = _RANK_BY_TYPE.get(type(value))
    if rank is not None:
        return rank
    if isinstance(value, Code):
        return CODE_RANK if value.scope is None else CODE_WITH_SCOPE_RANK
    for base, base_rank in _RANK_BY_BASE:
        if isinstance(value, base):
            return base_rank
    raise TypeError(f"not a BSON value: {type(value).__name__}")


def number(value: Any) -> Number:
    """A BSON number as a Python int, float or Decimal, which compare exactly with each other."""
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, bool):
        raise TypeError("a bool is not a BSON number")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    raise TypeError(f"not a BSON number: {type(value).__name__}")


def is_nan(value: Number) -> bool:
    """True for a float or Decimal NaN (quiet or signaling)."""
    if isinstance(value, Decimal):
        return value.is_nan()
    return value != value


def milliseconds(value: datetime.datetime | DatetimeMS) -> int:
    """A BSON date as signed milliseconds since the epoch (naive datetimes are UTC)."""
    if isinstance(value, DatetimeMS):
        return int(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return (value - _EPOCH) // _ONE_MS


def regex_flags(value: Regex[Any]) -> str:
    """The flags string MongoDB stores for `value` (pymongo keeps them as an int)."""
    flags = value.flags
    if isinstance(flags, str):
        return "".join(sorted(flags))
    return "".join(letter for bit, letter in _REGEX_FLAGS if flags & bit)


def _fields(value: Any) -> Mapping[str, Any]:
    """A document's fields; a DBRef is stored as the document {$ref, $id, [$db], extras}."""
    if isinstance(value, DBRef):
        return value.as_doc()
    return value  # type: ignore[no-any-return]


def _binary(value: Any) -> tuple[int, bytes]:
    """A binData's subtype and bytes (pymongo decodes subtype 0 as plain bytes)."""
    if isinstance(value, Binary):
        return value.subtype, bytes(value)
    if isinstance(value, uuid.UUID):
        return 4, value.bytes
    return 0, bytes(value)


def _sign(difference: int) -> int:
    return (difference > 0) - (difference < 0)


def _order(a: Any, b: Any) -> int:
    """-1, 0 or 1 for two values of one Python-comparable kind."""
    return -1 if a < b else 1 if a > b else 0


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as MongoDB orders `a` and `b` (its sort order and comparison operators)."""
    rank_a, rank_b = type_rank(a), type_rank(b)
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    return _COMPARE_SAME_RANK[rank_a](a, b)


def _compare_equal(a: Any, b: Any) -> int:
    return 0


def _compare_numbers(a: Any, b: Any) -> int:
    """Numbers by value across types; NaN equals NaN and sorts below every other number."""
    x, y = number(a), number(b)
    x_nan, y_nan = is_nan(x), is_nan(y)
    if x_nan or y_nan:
        return y_nan - x_nan
    return _order(x, y)


def _compare_documents(a: Any, b: Any) -> int:
    """Field by field: type rank, then name (UTF-8 order is code point order), then value."""
    left, right = _fields(a), _fields(b)
    for (name_a, value_a), (name_b, value_b) in zip(left.items(), right.items(), strict=False):
        rank_a, rank_b = type_rank(value_a), type_rank(value_b)
        if rank_a != rank_b:
            return -1 if rank_a < rank_b else 1
        if name_a != name_b:
            return -1 if name_a < name_b else 1
        order = _COMPARE_SAME_RANK[rank_a](value_a, value_b)
        if order:
            return order
    return _sign(len(left) - len(right))


def _compare_arrays(a: list[Any], b: list[Any]) -> int:
    """Element by element (MongoDB compares arrays as documents keyed "0", "1"...), then length."""
    for value_a, value_b in zip(a, b, strict=False):
        order = compare(value_a, value_b)
        if order:
            return order
    return _sign(len(a) - len(b))


def _compare_binaries(a: Any, b: Any) -> int:
    """Length first, then subtype, then the bytes, as MongoDB does."""
    subtype_a, data_a = _binary(a)
    subtype_b, data_b = _binary(b)
    return _order((len(data_a), subtype_a, data_a), (len(data_b), subtype_b, data_b))


def _compare_object_ids(a: ObjectId, b: ObjectId) -> int:
    return _order(a.binary, b.binary)


def _compare_dates(a: Any, b: Any) -> int:
    return _order(milliseconds(a), milliseconds(b))


def _compare_timestamps(a: Timestamp, b: Timestamp) -> int:
    return _order((a.time, a.inc), (b.time, b.inc))


def _compare_regexes(a: Regex[Any], b: Regex[Any]) -> int:
    return _order((a.pattern, regex_flags(a)), (b.pattern, regex_flags(b)))


def _compare_code(a: Code, b: Code) -> int:
    return _order(str(a), str(b))


def _compare_code_with_scope(a: Code, b: Code) -> int:
    return _compare_code(a, b) or _compare_documents(a.scope, b.scope)


_COMPARE_SAME_RANK: Final[dict[int, Callable[[Any, Any], int]]] = {
    MINKEY_RANK: _compare_equal,
    NULL_RANK: _compare_equal,
    NUMBER_RANK: _compare_numbers,
    STRING_RANK: _order,
    OBJECT_RANK: _compare_documents,
    ARRAY_RANK: _compare_arrays,
    BINARY_RANK: _compare_binaries,
    OBJECTID_RANK: _compare_object_ids,
    BOOL_RANK: _order,
    DATE_RANK: _compare_dates,
    TIMESTAMP_RANK: _compare_timestamps,
    REGEX_RANK: _compare_regexes,
    CODE_RANK: _compare_code,
    CODE_WITH_SCOPE_RANK: _compare_code_with_scope,
    MAXKEY_RANK: _compare_equal,
}


def sort_key(value: Any) -> tuple[Any, ...]:
    """A key for `sorted()` that orders values as `compare` does."""
    rank = type_rank(value)
    return _SORT_KEY_BY_RANK[rank](rank, value)


def _rank_only(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank,)


def _number_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    # NaN gets a marker below every other number's, so no NaN reaches a tuple comparison.
    n = number(value)
    return (rank, 0) if is_nan(n) else (rank, 1, n)


def _string_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, str(value))


def _document_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    # Each field as (type rank, name, value key): tuples then compare as MongoDB's fields do,
    # and a document that is a prefix of another sorts first, as a shorter tuple does.
    fields = tuple((type_rank(item), name, sort_key(item)) for name, item in _fields(value).items())
    return (rank, fields)


def _array_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, tuple(sort_key(item) for item in value))


def _binary_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    subtype, data = _binary(value)
    return (rank, len(data), subtype, data)


def _object_id_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, value.binary)


def _bool_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, bool(value))


def _date_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, milliseconds(value))


def _timestamp_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, value.time, value.inc)


def _regex_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, value.pattern, regex_flags(value))


def _code_with_scope_sort_key(rank: int, value: Any) -> tuple[Any, ...]:
    return (rank, str(value), sort_key(value.scope))


_SORT_KEY_BY_RANK: Final[dict[int, Callable[[int, Any], tuple[Any, ...]]]] = {
    MINKEY_RANK: _rank_only,
    NULL_RANK: _rank_only,
    NUMBER_RANK: _number_sort_key,
    STRING_RANK: _string_sort_key,
    OBJECT_RANK: _document_sort_key,
    ARRAY_RANK: _array_sort_key,
    BINARY_RANK: _binary_sort_key,
    OBJECTID_RANK: _object_id_sort_key,
    BOOL_RANK: _bool_sort_key,
    DATE_RANK: _date_sort_key,
    TIMESTAMP_RANK: _timestamp_sort_key,
    REGEX_RANK: _regex_sort_key,
    CODE_RANK: _string_sort_key,
    CODE_WITH_SCOPE_RANK: _code_with_scope_sort_key,
    MAXKEY_RANK: _rank_only,
}


class _Tag:
    """A marker heading a tagged equality key; only identical markers are equal."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# Arrays key as plain tuples of their elements' keys, so every other composite key is a tuple
# headed by a marker: no value's key is a bare marker, so no array's key can equal it.
_TRUE: Final = _Tag("true")
_FALSE: Final = _Tag("false")
_NAN: Final = _Tag("NaN")
_MINKEY: Final = _Tag("MinKey")
_MAXKEY: Final = _Tag("MaxKey")
_DOCUMENT: Final = _Tag("document")
_BINARY: Final = _Tag("binData")
_DATE: Final = _Tag("date")
_TIMESTAMP: Final = _Tag("timestamp")
_REGEX: Final = _Tag("regex")
_CODE: Final = _Tag("code")


def equality_key(value: Any) -> Hashable:
    """A hashable key that two values share exactly when MongoDB finds them equal."""
    kind = type(value)
    # str, int and ObjectId are their own keys: the common index and $in values stay cheap.
    if kind is str or kind is int or kind is ObjectId or value is None:
        return value  # type: ignore[no-any-return]
    keyer = _KEY_BY_TYPE.get(kind)
    if keyer is None:
        keyer = _KEY_BY_RANK[type_rank(value)]
    return keyer(value)


def _float_key(value: Any) -> Hashable:
    # Python hashes equal int, float and Decimal values alike, so 1, 1.0 and Decimal("1")
    # already share a key; only NaN, unequal to itself, needs a marker.
    return _NAN if value != value else float(value)


def _number_key(value: Any) -> Hashable:
    n = number(value)
    return _NAN if is_nan(n) else n


def _bool_key(value: Any) -> Hashable:
    return _TRUE if value else _FALSE


def _string_key(value: Any) -> Hashable:
    return str(value)


def _document_key(value: Any) -> Hashable:
    return (_DOCUMENT, tuple((name, equality_key(item)) for name, item in _fields(value).items()))


def _array_key(value: Any) -> Hashable:
    return tuple(equality_key(item) for item in value)


def _binary_key(value: Any) -> Hashable:
    return (_BINARY, *_binary(value))


def _date_key(value: Any) -> Hashable:
    # A naive UTC datetime is its own key; an out-of-range DatetimeMS keys by milliseconds.
    ms = milliseconds(value)
    try:
        return _EPOCH + ms * _ONE_MS
    except OverflowError:
        return (_DATE, ms)


def _datetime_key(value: Any) -> Hashable:
    return value if value.tzinfo is None else _date_key(value)


def _timestamp_key(value: Any) -> Hashable:
    return (_TIMESTAMP, value.time, value.inc)


def _regex_key(value: Any) -> Hashable:
    return (_REGEX, value.pattern, regex_flags(value))


def _code_key(value: Any) -> Hashable:
    scope = None if value.scope is None else _document_key(value.scope)
    return (_CODE, str(value), scope)


def _object_id_key(value: Any) -> Hashable:
    return ObjectId(value.binary)


def _minkey_key(value: Any) -> Hashable:
    return _MINKEY


def _maxkey_key(value: Any) -> Hashable:
    return _MAXKEY


def _null_key(value: Any) -> Hashable:
    return None


_KEY_BY_TYPE: Final[dict[type, Callable[[Any], Hashable]]] = {
    float: _float_key,
    bool: _bool_key,
    dict: _document_key,
    list: _array_key,
    datetime.datetime: _datetime_key,
    Binary: _binary_key,
}

_KEY_BY_RANK: Final[dict[int, Callable[[Any], Hashable]]] = {
    MINKEY_RANK: _minkey_key,
    NULL_RANK: _null_key,
    NUMBER_RANK: _number_key,
    STRING_RANK: _string_key,
    OBJECT_RANK: _document_key,
    ARRAY_RANK: _array_key,
    BINARY_RANK: _binary_key,
    OBJECTID_RANK: _object_id_key,
    BOOL_RANK: _bool_key,
    DATE_RANK: _date_key,
    TIMESTAMP_RANK: _timestamp_key,
    REGEX_RANK: _regex_key,
    CODE_RANK: _code_key,
    CODE_WITH_SCOPE_RANK: _code_key,
    MAXKEY_RANK: _maxkey_key,
}
