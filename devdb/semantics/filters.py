"""The native fast path for query filters: compiled once into closures, evaluated many times.

`compile_filter` covers the filters applications send most: equality (implicit or $eq), $ne,
$gt/$gte/$lt/$lte, $in/$nin, $exists, $not over those, and $and/$or/$nor, on top-level or dotted
paths. It returns None for anything else, malformed filters included, and the caller falls back
to the full engine (`devdb.semantics.full`), which also raises MongoDB's error for a bad filter.

The semantics are MongoDB 7.0's, the version devdb reports: a path yields values the way
the server's path iterator does (see `_path_values`), and each operator tests every yielded
value the way its `matchesSingleElement` does, with type bracketing, NaN and null/missing
rules. Numbers compare exactly across types, as the server does (a decimal and a double too).
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from bson import DatetimeMS
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex

from devdb.bsonvalues import (
    NULL_RANK,
    Number,
    compare,
    equality_key,
    is_nan,
    milliseconds,
    number,
    type_rank,
)

Predicate = Callable[[Mapping[str, Any]], bool]
Test = Callable[[Any], bool]
Path = tuple[str, ...]


class _Missing:
    """What a path yields where a field is absent (the server's EOO element)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final[Any] = _Missing()


class _OutsideSubsetError(Exception):
    """The filter is outside the native subset: the full engine must decide."""


def compile_filter(spec: Mapping[str, Any]) -> Predicate | None:
    """A predicate with MongoDB's semantics for `spec`, or None when the full engine must decide."""
    try:
        return _compile_document(spec)
    except (_OutsideSubsetError, RecursionError):
        return None


# ---- filter structure ---------------------------------------------------------------------


def _compile_document(spec: Any) -> Predicate:
    """Every clause of a filter document, all of which must hold."""
    if not isinstance(spec, Mapping):
        raise _OutsideSubsetError
    return _all_of([_compile_clause(key, value) for key, value in spec.items()])


def _compile_clause(key: Any, value: Any) -> Predicate:
    """One top-level field of a filter: a logical operator or a path with its condition."""
    if not isinstance(key, str):
        raise _OutsideSubsetError
    if key.startswith("$"):
        return _compile_logical(key, value)
    path = _parse_path(key)
    if isinstance(value, Mapping) and _is_operator_document(value):
        return _all_of([_compile_operator(path, name, arg) for name, arg in value.items()])
    return _equality(path, value)


def _compile_logical(name: str, clauses: Any) -> Predicate:
    """$and, $or or $nor over a non-empty array of filter documents."""
    combine = _LOGICAL.get(name)
    if combine is None or not isinstance(clauses, list) or not clauses:
        raise _OutsideSubsetError
    return combine([_compile_document(clause) for clause in clauses])


def _parse_path(key: str) -> Path:
    # Empty components are errors or oddities on the server, and "$"-prefixed ones ($id of a
    # DBRef, positional forms) need its special cases: both go to the full engine.
    parts = tuple(key.split("."))
    if any(not part or part.startswith("$") for part in parts):
        raise _OutsideSubsetError
    return parts


def _is_operator_document(value: Mapping[Any, Any]) -> bool:
    """True when `value` holds operators, as the server decides it: by its first field name."""
    names = list(value)
    if not names or not isinstance(names[0], str) or not names[0].startswith("$"):
        return False
    # {$ref, $id} is a DBRef to compare, and a mix of operators and fields is an error.
    if names[0] in ("$ref", "$id", "$db"):
        raise _OutsideSubsetError
    if not all(isinstance(name, str) and name.startswith("$") for name in names):
        raise _OutsideSubsetError
    return True


def _compile_operator(path: Path, name: str, arg: Any) -> Predicate:
    """One operator of an operator document, applied at `path`."""
    if name == "$eq":
        return _equality(path, arg)
    if name == "$ne":
        return _negate(_equality(path, arg))
    if name in _COMPARISONS:
        return _comparison(path, name, arg)
    if name == "$in":
        return _path_predicate(path, _member_of(arg))
    if name == "$nin":
        return _negate(_path_predicate(path, _member_of(arg)))
    if name == "$exists":
        return _exists(path, arg)
    if name == "$not":
        return _negate(_compile_not(path, arg))
    raise _OutsideSubsetError


def _equality(path: Path, operand: Any) -> Predicate:
    """Implicit equality or $eq with `operand` at `path`."""
    test = _equals(operand)
    if _has_fast_path(path, operand):
        return _field_equals(path[0], operand, test)
    return _path_predicate(path, test)


def _comparison(path: Path, name: str, operand: Any) -> Predicate:
    """$gt, $gte, $lt or $lte with `operand` at `path`."""
    test = _compares(name, operand)
    if _has_fast_path(path, operand):
        return _field_compares(path[0], _COMPARISONS[name], operand, test)
    return _path_predicate(path, test)


def _compile_not(path: Path, arg: Any) -> Predicate:
    """The operator document under $not (its regex form and nested $not are declined)."""
    if not isinstance(arg, Mapping) or not _is_operator_document(arg) or "$not" in arg:
        raise _OutsideSubsetError
    return _all_of([_compile_operator(path, name, value) for name, value in arg.items()])


def _exists(path: Path, arg: Any) -> Predicate:
    """$exists: some value at `path` (true) or none (false)."""
    wanted = _truth(arg)
    found = _has_field(path[0]) if len(path) == 1 else _path_predicate(path, _is_present)
    return found if wanted else _negate(found)


def _has_field(name: str) -> Predicate:
    def present(document: Mapping[str, Any]) -> bool:
        return name in document

    return present


def _truth(arg: Any) -> bool:
    """The server's trueValue() of $exists's argument, for the argument types we take."""
    if arg is None or isinstance(arg, bool):
        return bool(arg)
    if type(arg) in (int, float, Int64) and arg == arg:
        return bool(arg)
    raise _OutsideSubsetError


# ---- combinators --------------------------------------------------------------------------


def _always(document: Mapping[str, Any]) -> bool:
    return True


# Up to this many clauses combine as nested pairs (no generator per document); longer lists,
# such as a generated $or of a thousand lookups, loop instead of nesting that deep.
_PAIRED_AT_MOST: Final = 4


def _all_of(predicates: Sequence[Predicate]) -> Predicate:
    """True when every predicate holds (the empty filter matches everything)."""
    if not predicates:
        return _always
    if len(predicates) > _PAIRED_AT_MOST:
        chain = tuple(predicates)

        def every(document: Mapping[str, Any]) -> bool:
            return all(predicate(document) for predicate in chain)

        return every
    combined = predicates[-1]
    for predicate in reversed(predicates[:-1]):
        combined = _both(predicate, combined)
    return combined


def _both(first: Predicate, second: Predicate) -> Predicate:
    def both(document: Mapping[str, Any]) -> bool:
        return first(document) and second(document)

    return both


def _any_of(predicates: Sequence[Predicate]) -> Predicate:
    """True when some predicate holds."""
    if len(predicates) > _PAIRED_AT_MOST:
        chain = tuple(predicates)

        def some(document: Mapping[str, Any]) -> bool:
            return any(predicate(document) for predicate in chain)

        return some
    combined = predicates[-1]
    for predicate in reversed(predicates[:-1]):
        combined = _either(predicate, combined)
    return combined


def _either(first: Predicate, second: Predicate) -> Predicate:
    def either(document: Mapping[str, Any]) -> bool:
        return first(document) or second(document)

    return either


def _none_of(predicates: Sequence[Predicate]) -> Predicate:
    return _negate(_any_of(predicates))


def _negate(predicate: Predicate) -> Predicate:
    def negated(document: Mapping[str, Any]) -> bool:
        return not predicate(document)

    return negated


_LOGICAL: Final[dict[str, Callable[[Sequence[Predicate]], Predicate]]] = {
    "$and": _all_of,
    "$or": _any_of,
    "$nor": _none_of,
}


# ---- paths --------------------------------------------------------------------------------


def _path_predicate(path: Path, test: Test) -> Predicate:
    """True when `test` holds for some value the path yields in the document."""
    if len(path) == 1:
        return _field_predicate(path[0], test)
    values_at = _path_values(path)

    def match(document: Mapping[str, Any]) -> bool:
        return any(map(test, values_at(document)))

    return match


def _field_predicate(name: str, test: Test) -> Predicate:
    """A top-level field: its value, and each element of it when it is an array."""

    def match(document: Mapping[str, Any]) -> bool:
        value = document.get(name, MISSING)
        if type(value) is list:
            for element in value:
                if test(element):
                    return True
        return test(value)

    return match


# Operand types whose same-typed values compare with Python's own operators exactly as the
# server compares them (bool and str included: their Python order is the BSON one).
_FAST_KINDS: Final = frozenset({str, int, float, bool, ObjectId, datetime.datetime})


def _has_fast_path(path: Path, operand: Any) -> bool:
    """True for a top-level field and an operand `_field_equals`/`_field_compares` can inline."""
    kind = type(operand)
    if len(path) != 1 or kind not in _FAST_KINDS:
        return False
    if kind is float:
        return not is_nan(operand)
    return kind is not datetime.datetime or operand.tzinfo is None


def _field_equals(name: str, operand: Any, test: Test) -> Predicate:
    """`_field_predicate` for equality, inlined when the value has the operand's type.

    A filter most often compares a top-level field with a value of the field's own type:
    answering that case in one call per field is most of what makes a match fast.
    """
    kind = type(operand)

    def match(document: Mapping[str, Any]) -> bool:
        value = document.get(name, MISSING)
        if type(value) is kind:
            return bool(value == operand)
        if type(value) is list:
            for element in value:
                if test(element):
                    return True
        return test(value)

    return match


def _field_compares(
    name: str, holds: Callable[[Any, Any], bool], operand: Any, test: Test
) -> Predicate:
    """`_field_predicate` for $gt/$gte/$lt/$lte, inlined when the value has the operand's type."""
    kind = type(operand)

    def match(document: Mapping[str, Any]) -> bool:
        value = document.get(name, MISSING)
        if type(value) is kind:
            return holds(value, operand)
        if type(value) is list:
            for element in value:
                if test(element):
                    return True
        return test(value)

    return match


def _is_document(value: Any) -> bool:
    # pymongo decodes a stored {$ref, $id} sub-document as a DBRef; the server sees a document.
    return isinstance(value, (dict, DBRef))


def _field(container: Any, name: str) -> Any:
    if isinstance(container, DBRef):
        container = container.as_doc()
    return container.get(name, MISSING)


def _array_offset(part: str) -> int:
    """The array position a path component names ("01" names none: positions are "0", "1"...)."""
    if part.isascii() and part.isdigit() and (part == "0" or part[0] != "0"):
        return int(part)
    return -1


def _path_values(path: Path) -> Callable[[Mapping[str, Any]], list[Any]]:
    """What the server's path iterator yields for a dotted path, MISSING for absent fields."""
    last = len(path) - 1
    offsets = tuple(_array_offset(part) for part in path)

    def collect(container: Any, index: int, found: list[Any]) -> None:
        # Sub-documents are descended; a scalar or an absent field before the path ends
        # yields MISSING; an array ending the path yields each element and then itself.
        while True:
            if type(container) is dict:
                value = container.get(path[index], MISSING)
            else:
                value = _field(container, path[index])
            if index == last:
                if type(value) is list:
                    found.extend(value)
                found.append(value)
                return
            if type(value) is dict or _is_document(value):
                container = value
                index += 1
            elif type(value) is list:
                in_array(value, index + 1, found)
                return
            else:
                found.append(MISSING)
                return

    def in_array(array: list[Any], index: int, found: list[Any]) -> None:
        # Each sub-document is searched for the rest of the path (MISSING when it lacks it);
        # a numeric component also picks the element at that position, whole when it ends
        # the path, searched further when it is a document or an array. Other elements yield
        # nothing: MongoDB 7.0 does not count a scalar in the array as a missing field (9.0
        # does, SERVER-36681).
        offset = offsets[index]
        ends = index == last
        for position, element in enumerate(array):
            if type(element) is dict or _is_document(element):
                collect(element, index, found)
                if position == offset:
                    if ends:
                        found.append(element)
                    else:
                        collect(element, index + 1, found)
            elif position == offset:
                if ends:
                    found.append(element)
                elif type(element) is list:
                    in_array(element, index + 1, found)

    def values_at(document: Mapping[str, Any]) -> list[Any]:
        found: list[Any] = []
        collect(document, 0, found)
        return found

    return values_at


# ---- value tests --------------------------------------------------------------------------


def _is_present(value: Any) -> bool:
    return value is not MISSING


def _is_null_or_missing(value: Any) -> bool:
    return value is None or value is MISSING


def _never(value: Any) -> bool:
    return False


def _checked_rank(value: Any) -> int:
    """`value`'s type rank, declining regexes (they are patterns here) and non-BSON values."""
    if isinstance(value, Regex):
        raise _OutsideSubsetError
    _check_bson(value)
    return type_rank(value)


def _check_bson(value: Any) -> None:
    """Declines a filter argument holding anything the BSON helpers do not know."""
    try:
        rank = type_rank(value)
    except TypeError:
        raise _OutsideSubsetError from None
    if rank == NULL_RANK or isinstance(value, (str, int, float)):
        return
    if isinstance(value, Code) and value.scope is not None:
        value = value.scope
    elif isinstance(value, DBRef):
        value = value.as_doc()
    if isinstance(value, dict):
        for item in value.values():
            _check_bson(item)
    elif isinstance(value, list):
        for item in value:
            _check_bson(item)


def _equals(operand: Any) -> Test:
    """Equality with `operand`, as $eq and implicit equality test each value."""
    rank = _checked_rank(operand)
    if operand is None:
        return _is_null_or_missing
    kind = type(operand)
    if kind is str or kind is ObjectId or kind is bool:
        return _equals_exact_type(operand)
    if kind in (int, float, Int64, Decimal128):
        return _equals_number(number(operand))
    if kind is datetime.datetime and operand.tzinfo is None:
        return _equals_datetime(operand)
    return _equals_generic(operand, rank)


def _equals_exact_type(operand: Any) -> Test:
    # Only values of the very same Python type can equal these (bson.Code is a str subclass).
    kind = type(operand)

    def test(value: Any) -> bool:
        return type(value) is kind and value == operand

    return test


def _equals_number(operand: Number) -> Test:
    if is_nan(operand):
        return _is_nan_value

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return bool(value == operand)
        if kind is Int64 or kind is Decimal128:
            n = number(value)
            return not is_nan(n) and n == operand
        return False

    return test


def _is_nan_value(value: Any) -> bool:
    kind = type(value)
    if kind is float or kind is Decimal128:
        return is_nan(number(value))
    return False


def _equals_datetime(operand: datetime.datetime) -> Test:
    ms = milliseconds(operand)

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is datetime.datetime:
            return bool(value == operand)
        return kind is DatetimeMS and int(value) == ms

    return test


def _equals_generic(operand: Any, rank: int) -> Test:
    key = equality_key(operand)

    def test(value: Any) -> bool:
        return value is not MISSING and type_rank(value) == rank and equality_key(value) == key

    return test


def _member_of(values: Any) -> Test:
    """$in: equality with any of `values`; null in them matches a missing field too."""
    if not isinstance(values, list):
        raise _OutsideSubsetError
    for value in values:
        _checked_rank(value)
        # The server rejects operators nested in $in.
        if isinstance(value, Mapping) and value and str(next(iter(value))).startswith("$"):
            raise _OutsideSubsetError
    keys = frozenset(equality_key(value) for value in values)
    with_null = None in keys

    def test(value: Any) -> bool:
        if value is MISSING:
            return with_null
        return equality_key(value) in keys

    return test


_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _compares(name: str, operand: Any) -> Test:
    """$gt/$gte/$lt/$lte: only values in the operand's type bracket can match."""
    rank = _checked_rank(operand)
    if isinstance(operand, (MinKey, MaxKey)):
        raise _OutsideSubsetError  # the server has special cases across brackets for these
    inclusive = name in ("$gte", "$lte")
    if operand is None:
        # null equals null and missing; nothing is above or below it in its bracket.
        return _is_null_or_missing if inclusive else _never
    holds = _COMPARISONS[name]
    kind = type(operand)
    if kind in (int, float, Int64, Decimal128):
        return _compares_number(holds, number(operand), inclusive)
    if kind is str:
        return _compares_exact_type(holds, operand)
    if kind is datetime.datetime and operand.tzinfo is None:
        return _compares_datetime(holds, operand)
    return _compares_generic(holds, operand, rank)


def _compares_number(holds: Callable[[Any, Any], bool], operand: Number, inclusive: bool) -> Test:
    # A NaN on either side matches nothing, except NaN against NaN for $gte and $lte.
    if is_nan(operand):
        return _is_nan_value if inclusive else _never

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return holds(value, operand)  # a float NaN fails every comparison, as it should
        if kind is Int64 or kind is Decimal128:
            n = number(value)
            return not is_nan(n) and holds(n, operand)
        return False

    return test


def _compares_exact_type(holds: Callable[[Any, Any], bool], operand: Any) -> Test:
    # Python orders str by code point, which is the server's UTF-8 byte order.
    kind = type(operand)

    def test(value: Any) -> bool:
        return type(value) is kind and holds(value, operand)

    return test


def _compares_datetime(holds: Callable[[Any, Any], bool], operand: datetime.datetime) -> Test:
    ms = milliseconds(operand)

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is datetime.datetime:
            return holds(value, operand)
        return kind is DatetimeMS and holds(int(value), ms)

    return test


def _compares_generic(holds: Callable[[Any, Any], bool], operand: Any, rank: int) -> Test:
    def test(value: Any) -> bool:
        return (
            value is not MISSING and type_rank(value) == rank and holds(compare(value, operand), 0)
        )

    return test
