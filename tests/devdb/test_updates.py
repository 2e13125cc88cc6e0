"""The native update path (`devdb.semantics.updates`): MongoDB's semantics, checked two ways.

Examples state the subtle rules (nModified, where new fields go, missing parents, numeric
equality in sets) as MongoDB has them. Property tests apply random updates both natively and
through mongoeco's engine and require the same document and the same nModified, wherever the
native path accepts the update and the document.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import pytest
from bson import Binary, Int64, ObjectId
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from devdb.bsonvalues import CODEC, compare
from devdb.semantics.updates import Unsupported, compile_update

Document = dict[str, Any]


def applied(
    doc: Document, spec: dict[str, Any], *, inserting: bool = False
) -> tuple[Document, bool]:
    """The updated copy of `doc`, and whether it changed, through the native path."""
    update = compile_update(spec)
    assert update is not None, spec
    result = copy.deepcopy(doc)
    return result, update.apply(result, inserting=inserting)


# -- nModified: only a real change of bytes counts -----------------------------------------


@pytest.mark.parametrize(
    ("doc", "spec", "changed"),
    [
        ({"a": 1}, {"$set": {"a": 1}}, False),
        ({"a": 1}, {"$set": {"a": 1.0}}, True),  # same value, another BSON type
        ({"a": 0.0}, {"$set": {"a": -0.0}}, True),  # equal doubles, different bytes
        ({"a": float("nan")}, {"$set": {"a": float("nan")}}, False),
        ({"a": {"x": 1, "y": 2}}, {"$set": {"a": {"y": 2, "x": 1}}}, True),  # field order
        ({"a": b"x"}, {"$set": {"a": Binary(b"x", 0)}}, False),  # pymongo's bytes is binData 0
        ({"a": Int64(5)}, {"$set": {"a": 5}}, True),  # int64 to int32
        ({"a": 5}, {"$inc": {"a": 0}}, False),
        ({"a": 5}, {"$inc": {"a": 0.0}}, True),  # int + double is a double
        ({"a": 5}, {"$inc": {"a": Int64(0)}}, True),  # int + long is a long
        ({"a": 5}, {"$min": {"a": 5.0}}, False),  # equal numbers: $min keeps the current one
        ({"a": 5}, {"$max": {"a": 5.5}}, True),
        ({"a": [1, 2]}, {"$addToSet": {"a": 2.0}}, False),
        ({"a": [1]}, {"$push": {"a": {"$each": []}}}, False),
        ({"a": [1]}, {"$pull": {"a": 3}}, False),
        ({}, {"$unset": {"a": 1}}, False),
        ({}, {"$unset": {"a.b": 1}}, False),  # no parent is created for nothing
        ({}, {"$pull": {"a.b": 1}}, False),
        ({"a": 1}, {"$setOnInsert": {"b": 1}}, False),  # not inserting
    ],
)
def test_modified_only_when_the_bytes_change(
    doc: Document, spec: dict[str, Any], changed: bool
) -> None:
    before = bson.encode(doc)
    result, modified = applied(doc, spec)
    assert modified is changed
    assert (bson.encode(result) != before) is changed


def test_current_date_is_a_millisecond_utc_date_and_always_a_change() -> None:
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(milliseconds=1)
    result, modified = applied({"status": "pending"}, {"$currentDate": {"at": {"$type": "date"}}})
    at = result["at"]
    assert modified
    assert isinstance(at, datetime) and at.tzinfo is None and at.microsecond % 1000 == 0
    assert before <= at <= datetime.now(UTC).replace(tzinfo=None)
    again, modified = applied(result, {"$currentDate": {"at": True}})
    assert modified and again["at"] >= at


def test_the_hot_update_sets_both_fields_in_place_and_appends() -> None:
    doc = {"_id": ObjectId(), "status": "pending", "key": "k1", "version": 1, "n": 3, "m": {}}
    result, modified = applied(
        doc, {"$set": {"status": "published"}, "$currentDate": {"published_at": True}}
    )
    assert modified
    assert list(result) == ["_id", "status", "key", "version", "n", "m", "published_at"]
    assert result["status"] == "published"


# -- Field order: existing fields stay put, new ones follow in MongoDB's order ---------------


@pytest.mark.parametrize(
    ("doc", "spec", "expected"),
    [
        # One tree for the whole update (MongoDB 5+): new fields are sorted across operators.
        # mongoeco applies operator by operator and gives z before a here.
        ({"_id": 1}, {"$set": {"z": 1}, "$inc": {"a": 1}}, {"_id": 1, "a": 1, "z": 1}),
        (
            {"_id": 1},
            {"$set": {"b.y": 1, "a": 1, "b.x": 1}},
            {"_id": 1, "a": 1, "b": {"x": 1, "y": 1}},
        ),
        # Sorted by field name, level by level: "a" before "a-c" though "a-c" < "a.b" as text
        # (mongoeco sorts the dotted strings and puts "a-c" first).
        ({"_id": 1}, {"$set": {"a-c": 1, "a.b": 1}}, {"_id": 1, "a": {"b": 1}, "a-c": 1}),
        ({"_id": 1}, {"$set": {"B": 1, "a": 1, "_": 1}}, {"_id": 1, "B": 1, "_": 1, "a": 1}),
        (
            {"_id": 1, "z": 0, "a": 0},
            {"$set": {"a": 2, "m": 1, "z": 1}},
            {"_id": 1, "z": 1, "a": 2, "m": 1},
        ),
        ({"a": {"k": 1}}, {"$set": {"a.b": 1}}, {"a": {"k": 1, "b": 1}}),
        ({"a": 1, "b": 2}, {"$unset": {"a": ""}, "$set": {"c": 3}}, {"b": 2, "c": 3}),
    ],
)
def test_field_order(doc: Document, spec: dict[str, Any], expected: Document) -> None:
    result, _ = applied(doc, spec)
    assert bson.encode(result) == bson.encode(expected)


# -- Paths: missing parents are created, other shapes go to mongoeco -------------------------


def test_missing_parent_documents_are_created() -> None:
    result, modified = applied(
        {"_id": 1}, {"$set": {"a.b.c": 1}, "$inc": {"a.n": 2}, "$push": {"x.y": 5}}
    )
    assert modified
    assert result == {"_id": 1, "a": {"b": {"c": 1}, "n": 2}, "x": {"y": [5]}}


@pytest.mark.parametrize(
    ("doc", "spec"),
    [
        ({"a": [{"b": 1}]}, {"$set": {"a.b": 2}}),  # through an array
        ({"a": None}, {"$set": {"a.b": 2}}),  # through null
        ({"a": 3}, {"$unset": {"a.b": 1}}),
        ({"a": "x"}, {"$inc": {"a": 1}}),
        ({"a": True}, {"$inc": {"a": 1}}),
        ({"a": bson.Decimal128("1")}, {"$inc": {"a": 1}}),
        ({"a": Int64(2**63 - 1)}, {"$inc": {"a": 1}}),  # int64 overflow: MongoDB's error
        ({"a": 1}, {"$push": {"a": 2}}),
        ({"a": {}}, {"$addToSet": {"a": 2}}),
        ({"a": 1}, {"$pull": {"a": 1}}),
    ],
)
def test_unsupported_documents_are_left_untouched(doc: Document, spec: dict[str, Any]) -> None:
    update = compile_update({**spec, "$max": {"untouched": 1}})
    assert update is not None
    target = copy.deepcopy(doc)
    with pytest.raises(Unsupported):
        update.apply(target)
    assert target == doc


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"a": 1},  # a replacement
        {"$set": {}},
        {"$rename": {"a": "b"}},
        {"$mul": {"a": 2}},
        {"$pop": {"a": 1}},
        {"$pullAll": {"a": [1]}},
        {"$bit": {"a": {"and": 1}}},
        {"$unknown": {"a": 1}},
        {"$set": {"a.$": 1}},
        {"$set": {"a.$[]": 1}},
        {"$set": {"a.$[x]": 1}},
        {"$set": {"a.0": 1}},
        {"$set": {"_id": 1}},
        {"$set": {"_id.x": 1}},
        {"$unset": {"_id": 1}},
        {"$set": {"a": 1}, "$inc": {"a.b": 1}},  # conflicting paths
        {"$set": {"a.b": 1}, "$unset": {"a": 1}},
        {"$set": {"a": 1}, "$setOnInsert": {"a": 2}},
        {"$set": {"": 1}},
        {"$set": {"a..b": 1}},
        {"$set": {"a": {"$x": 1}}},
        {"$set": {"a": {"b.c": 1}}},
        {"$inc": {"a": "1"}},
        {"$inc": {"a": True}},
        {"$inc": {"a": bson.Decimal128("1")}},
        {"$currentDate": {"a": {"$type": "timestamp"}}},
        {"$currentDate": {"a": False}},
        {"$push": {"a": {"$each": [1], "$slice": 2}}},
        {"$push": {"a": {"$each": [1], "$position": 0}}},
        {"$push": {"a": {"$each": [1], "$sort": 1}}},
        {"$push": {"a": {"$each": 1}}},
        {"$addToSet": {"a": {"$each": [1], "$x": 1}}},
        {"$pull": {"a": {"$gt": 1}}},
        {"$pull": {"a": {"b": 1}}},
        {"$pull": {"a": [1]}},
        {"$pull": {"a": bson.Regex("^a")}},
    ],
)
def test_declined(spec: dict[str, Any]) -> None:
    assert compile_update(spec) is None


# -- Arrays -----------------------------------------------------------------------------------


def test_add_to_set_equates_numbers_across_types() -> None:
    result, modified = applied(
        {"a": [1, 2.0, Int64(3)]},
        {"$addToSet": {"a": {"$each": [1.0, Int64(2), 3, 4, 4.0, Int64(4), "4", [4], {"x": 4}]}}},
    )
    assert modified
    assert result["a"] == [1, 2.0, 3, 4, "4", [4], {"x": 4}]
    assert type(result["a"][3]) is int  # the first of 4, 4.0 and Int64(4)


def test_add_to_set_documents_compare_with_their_field_order() -> None:
    result, modified = applied({"a": [{"x": 1, "y": 2}]}, {"$addToSet": {"a": {"y": 2, "x": 1}}})
    assert modified and result["a"] == [{"x": 1, "y": 2}, {"y": 2, "x": 1}]


@pytest.mark.parametrize("operator", ["$push", "$addToSet"])
def test_an_empty_each_creates_an_empty_array(operator: str) -> None:
    # MongoDB creates the field; mongoeco 4.11 leaves the document unchanged.
    result, modified = applied({"_id": 1}, {operator: {"a": {"$each": []}}})
    assert modified and result == {"_id": 1, "a": []}


def test_pull_removes_every_equal_number_but_not_arrays() -> None:
    result, modified = applied({"a": [1, 1.0, Int64(1), [1], "1", 2]}, {"$pull": {"a": 1}})
    assert modified and result["a"] == [[1], "1", 2]


def test_pushed_values_are_copies() -> None:
    update = compile_update({"$push": {"a": {"k": [1]}}, "$set": {"b": {"c": [2]}}})
    assert update is not None
    first: Document = {}
    second: Document = {}
    update.apply(first)
    update.apply(second)
    first["a"][0]["k"].append(9)
    first["b"]["c"].append(9)
    assert second == {"a": [{"k": [1]}], "b": {"c": [2]}}


# -- Numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "amount", "expected"),
    [
        (1, 2, 3),
        (2**31 - 1, 1, Int64(2**31)),  # int32 overflow widens to int64
        (-(2**31), -1, Int64(-(2**31) - 1)),
        (Int64(5), -3, Int64(2)),  # a long stays a long
        (1, 0.5, 1.5),
        (Int64(1), 0.5, 1.5),
        (1.5, Int64(1), 2.5),
    ],
)
def test_inc_types(current: Any, amount: Any, expected: Any) -> None:
    result, _ = applied({"a": current}, {"$inc": {"a": amount}})
    assert type(result["a"]) is type(expected) and result["a"] == expected


def test_inc_on_a_missing_field_sets_the_amount() -> None:
    result, _ = applied({}, {"$inc": {"a": Int64(2), "b": 1.5, "c": 3}})
    assert [type(v) for v in result.values()] == [Int64, float, int]


def test_set_on_insert_applies_only_when_inserting() -> None:
    spec = {"$setOnInsert": {"created": 1}, "$set": {"b": 1}}
    assert applied({"_id": 1}, spec, inserting=True)[0] == {"_id": 1, "b": 1, "created": 1}
    assert applied({"_id": 1}, spec)[0] == {"_id": 1, "b": 1}


# -- Differential: the native path and mongoeco agree ----------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "x"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map(".".join)
NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.sampled_from([2**31 - 1, -(2**31), 2**40]),
    st.integers(-(2**62), 2**62).map(Int64),
    st.floats(allow_nan=False, width=64),
    st.sampled_from([0.0, -0.0, 0.5]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(alphabet="ab", max_size=2),
    st.just(ObjectId("65f0a0000000000000000001")),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
    ),
    st.binary(max_size=2),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=6,
)
ARRAY_OPERANDS = VALUES | st.lists(VALUES, min_size=1, max_size=3).map(lambda v: {"$each": v})
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$set": VALUES,
    "$setOnInsert": VALUES,
    "$unset": st.just(""),
    "$inc": NUMBERS,
    "$min": VALUES,
    "$max": VALUES,
    "$currentDate": st.sampled_from([True, {"$type": "date"}]),
    "$push": ARRAY_OPERANDS,
    "$addToSet": ARRAY_OPERANDS,
    "$pull": SCALARS,
}
DOCUMENTS = st.dictionaries(NAMES, VALUES, max_size=4).map(lambda d: {"_id": 1, **d})


def _separate(paths: list[str]) -> list[str]:
    """The paths of a list that neither repeat nor contain one another."""
    kept: list[str] = []
    for path in paths:
        if not any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in kept):
            kept.append(path)
    return kept


@st.composite
def update_specs(draw: st.DrawFn) -> dict[str, Any]:
    paths = _separate(draw(st.lists(PATHS, min_size=1, max_size=4)))
    spec: dict[str, Any] = {}
    for path in paths:
        operator = draw(st.sampled_from(sorted(OPERANDS)))
        spec.setdefault(operator, {})[path] = draw(OPERANDS[operator])
    return spec


def _wire(value: Any) -> Any:
    """`value` as the server holds it: decoded from BSON (int64 as Int64, binData 0 as bytes)."""
    return bson.decode(bson.encode({"v": value}), CODEC)["v"]


def _normalized(doc: Document, spec: dict[str, Any], ordered: bool) -> bytes:
    """`doc`'s BSON with $currentDate's times blanked, its fields sorted unless `ordered`."""
    doc = copy.deepcopy(doc)
    for path in spec.get("$currentDate", {}):
        *parents, last = path.split(".")
        node = doc
        for name in parents:
            node = node[name]
        assert isinstance(node[last], datetime)
        node[last] = "now"
    return bson.encode(doc if ordered else _sorted(doc))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _eco(doc: Document, spec: dict[str, Any], inserting: bool) -> tuple[Document, bool] | None:
    """mongoeco's result, or None when it raises MongoDB's error."""
    from mongoeco.core.operators import UpdateEngine
    from mongoeco.wire.bson_bridge import decode_wire_value, encode_wire_value

    target = decode_wire_value(copy.deepcopy(doc))
    try:
        changed = UpdateEngine.apply_update(
            target, decode_wire_value(spec), is_upsert_insert=inserting
        )
    except Exception:
        return None
    return _wire(encode_wire_value(target)), bool(changed)


def _at(doc: Document, path: str) -> Any:
    """The value at a dotted path through documents, or None when there is none."""
    node: Any = doc
    for name in path.split("."):
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node


def _same_order_as_mongoeco(doc: Document, spec: dict[str, Any]) -> bool:
    """Whether mongoeco orders each $min/$max operand and current value as MongoDB does.

    mongoeco compares embedded documents by field name before value type (MongoDB: type
    first), so {a: false} < {b: null} there; that is the comparison's business, not the update's.
    """
    from mongoeco.core.filtering import BSONComparator
    from mongoeco.wire.bson_bridge import decode_wire_value

    for operator in ("$min", "$max"):
        for path, operand in spec.get(operator, {}).items():
            current = _at(doc, path)
            theirs = BSONComparator.compare(decode_wire_value(operand), decode_wire_value(current))
            if (theirs > 0) - (theirs < 0) != compare(operand, current):
                return False
    return True


def _no_long_increments(doc: Document, spec: dict[str, Any]) -> bool:
    """Whether no $inc involves an int64: mongoeco's sums of longs come out as ints.

    MongoDB keeps a long a long ({a: Int64(5)} with {$inc: {a: 0}} is a no-op); mongoeco
    turns it into an int32 and reports a change.
    """
    return not any(
        isinstance(value, Int64)
        for path, amount in spec.get("$inc", {}).items()
        for value in (amount, _at(doc, path))
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCUMENTS, spec=update_specs(), inserting=st.booleans())
def test_agrees_with_mongoeco(doc: Document, spec: dict[str, Any], inserting: bool) -> None:
    pytest.importorskip("mongoeco")
    doc, spec = _wire(doc), _wire(spec)
    update = compile_update(spec)
    assert update is not None, spec  # every generated spec is in the native subset
    ours = copy.deepcopy(doc)
    try:
        changed = update.apply(ours, inserting=inserting)
    except Unsupported:
        event("unsupported document")
        assert ours == doc
        return
    event("compared")
    assume(_same_order_as_mongoeco(doc, spec) and _no_long_increments(doc, spec))
    theirs = _eco(doc, spec, inserting)
    context = {"spec": spec, "doc": doc, "ours": ours, "theirs": theirs}
    assert theirs is not None, context  # mongoeco raised an error, the native path did not
    # mongoeco orders new fields operator by operator; MongoDB (and we) across the update.
    ordered = len(spec) == 1
    assert _normalized(ours, spec, ordered) == _normalized(theirs[0], spec, ordered), context
    # nModified counts changed documents. mongoeco's own flag is wrong for some no-op $pulls
    # ({a: [0.0]} with {$pull: {a: null}} is "modified" there), so its document decides.
    assert changed == (bson.encode(theirs[0]) != bson.encode(doc)), context
