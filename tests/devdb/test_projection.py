"""The native projection and sort paths (`devdb.semantics.projection`), checked two ways.

Examples state MongoDB's rules (`_id`, dotted paths through arrays, arrays and missing fields
in sorts); property tests compare random documents with mongoeco's engine wherever its rules
are MongoDB's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import bson
import pytest
from bson import Int64, MaxKey, MinKey, ObjectId
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from devdb.bsonvalues import CODEC
from devdb.errors import CommandError
from devdb.semantics.projection import compile_projection, compile_sort

Document = dict[str, Any]


def projected(doc: Document, spec: dict[str, Any]) -> Document:
    project = compile_projection(spec)
    assert project is not None, spec
    return project(doc)


def order(docs: list[Document], spec: dict[str, Any]) -> list[Any]:
    """The `_id`s of `docs` in the order of a sort document."""
    key = compile_sort(spec)
    assert key is not None, spec
    return [d["_id"] for d in sorted(docs, key=key)]


# -- Projections -------------------------------------------------------------------------------

DOC = {
    "_id": 7,
    "a": [1, {"b": 2, "c": 3}, [{"b": 4, "c": 5}, 6], {"c": 0}],
    "m": {"b": 1, "c": {"d": 2, "e": 3}},
    "s": 5,
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, DOC),
        ({"s": 1}, {"_id": 7, "s": 5}),
        ({"s": True, "_id": False}, {"s": 5}),
        ({"_id": 1}, {"_id": 7}),
        ({"_id": 0}, {"a": DOC["a"], "m": DOC["m"], "s": 5}),
        # Through arrays: documents are projected, nested arrays recursed into (find's rule),
        # and other elements dropped; a document without the field stays, empty.
        ({"a.b": 1}, {"_id": 7, "a": [{"b": 2}, [{"b": 4}], {}]}),
        ({"a.b": 0}, {**DOC, "a": [1, {"c": 3}, [{"c": 5}, 6], {"c": 0}]}),
        ({"m.c.d": 1, "s": 1}, {"_id": 7, "m": {"c": {"d": 2}}, "s": 5}),
        ({"m.c.d": 0, "_id": 0}, {"a": DOC["a"], "m": {"b": 1, "c": {"e": 3}}, "s": 5}),
        # A path into a scalar keeps nothing of it; into a document, at least the document.
        # (mongoeco drops the empty document.)
        ({"s.x": 1, "m.x": 1}, {"_id": 7, "m": {}}),
        ({"s.x": 0}, DOC),
        ({"zz": 1}, {"_id": 7}),
    ],
)
def test_projection(spec: dict[str, Any], expected: Document) -> None:
    assert bson.encode(projected(DOC, spec)) == bson.encode(expected)


def test_inclusion_keeps_the_document_order_not_the_projection_order() -> None:
    doc = {"_id": 1, "b": 2, "a": 1, "c": 3}
    assert list(projected(doc, {"c": 1, "a": 1})) == ["_id", "a", "c"]


@pytest.mark.parametrize(
    "spec",
    [
        {"a": 1, "b": 0},  # mixed
        {"_id": 1, "a": 0},
        {"a": 1, "a.b": 1},  # path collision
        {"a.b": 0, "a": 0},
        {"a": 2},
        {"a": -1},
        {"a": "x"},  # a literal
        {"a": {"$slice": 1}},
        {"a": {"$elemMatch": {"b": 1}}},
        {"a": {"$meta": "textScore"}},
        {"a.$": 1},
        {"a.0": 1},
        {"_id.x": 1},
        {"": 1},
        {"a..b": 1},
        {"$a": 1},
    ],
)
def test_projection_declined(spec: dict[str, Any]) -> None:
    assert compile_projection(spec) is None


# -- Sorts -------------------------------------------------------------------------------------


def test_arrays_sort_by_their_least_element_ascending_and_greatest_descending() -> None:
    docs = [{"_id": "low", "a": [5, 1]}, {"_id": "mid", "a": 3}, {"_id": "high", "a": [2, 9]}]
    assert order(docs, {"a": 1}) == ["low", "high", "mid"]
    assert order(docs, {"a": -1}) == ["high", "low", "mid"]


def test_missing_sorts_as_null_and_an_empty_array_below_both() -> None:
    # MongoDB: "an empty array is less than null or a missing field"; only MinKey is lower.
    # mongoeco sorts [] with the arrays, above every document.
    docs = [
        {"_id": "missing"},
        {"_id": "empty", "a": []},
        {"_id": "null", "a": None},
        {"_id": "min", "a": MinKey()},
        {"_id": "one", "a": 1},
        {"_id": "max", "a": MaxKey()},
    ]
    assert order(docs, {"a": 1}) == ["min", "empty", "missing", "null", "one", "max"]
    assert order(docs, {"a": -1}) == ["max", "one", "missing", "null", "empty", "min"]


def test_values_of_different_types_sort_in_bson_order() -> None:
    docs = [
        {"_id": "date", "a": datetime(2020, 1, 1)},
        {"_id": "bool", "a": False},
        {"_id": "oid", "a": ObjectId()},
        {"_id": "array", "a": [[1]]},  # its element is the array [1]
        {"_id": "doc", "a": {"x": 1}},
        {"_id": "str", "a": "a"},
        {"_id": "num", "a": Int64(2)},
        {"_id": "float", "a": 1.5},
    ]
    assert order(docs, {"a": 1}) == ["float", "num", "str", "doc", "array", "oid", "bool", "date"]


def test_dotted_paths_through_arrays_use_every_element_missing_ones_as_null() -> None:
    # As MongoDB's index keys: {a: [{b: 3}, 5]} has the keys 3 and null (5 has no b), so it
    # sorts as null ascending. mongoeco only looks at the elements that have the field.
    docs = [
        {"_id": "partial", "a": [{"b": 3}, 5]},
        {"_id": "all", "a": [{"b": 2}, {"b": [8, 4]}]},
        {"_id": "scalars", "a": [1, 2]},
        {"_id": "doc", "a": {"b": 4}},
        {"_id": "nested", "a": [[{"b": 0}]]},  # arrays in arrays are not searched
        {"_id": "emptyleaf", "a": {"b": []}},  # an empty array at the end of the path
    ]
    assert order(docs, {"a.b": 1}) == ["emptyleaf", "partial", "scalars", "nested", "all", "doc"]
    assert order(docs, {"a.b": -1}) == ["all", "doc", "partial", "scalars", "nested", "emptyleaf"]


def test_mixed_directions_and_ties() -> None:
    docs = [
        {"_id": 1, "g": "x", "n": 1},
        {"_id": 2, "g": "y", "n": 2},
        {"_id": 3, "g": "x", "n": 3},
        {"_id": 4, "g": "y", "n": 2.0},
        {"_id": 5, "n": 9},
    ]
    assert order(docs, {"g": 1, "n": -1}) == [5, 3, 1, 2, 4]
    assert order(docs, {"g": -1, "n": 1}) == [2, 4, 1, 3, 5]


def test_paths_sharing_an_array_take_their_values_from_one_element() -> None:
    # MongoDB builds key tuples element by element: (1, 9) and (2, 0), never (1, 0).
    docs = [
        {"_id": "a", "r": [{"x": 1, "y": 9}, {"x": 2, "y": 0}]},
        {"_id": "b", "r": [{"x": 1, "y": 5}]},
    ]
    assert order(docs, {"r.x": 1, "r.y": 1}) == ["b", "a"]
    assert order(docs, {"r.x": -1, "r.y": 1}) == ["a", "b"]


def test_parallel_arrays_are_an_error() -> None:
    key = compile_sort({"a": 1, "b": 1})
    assert key is not None
    key({"a": [1], "b": 2})
    with pytest.raises(CommandError, match="parallel arrays"):
        key({"a": [1], "b": [2]})


@pytest.mark.parametrize(
    "spec",
    [{}, {"a": {"$meta": "textScore"}}, {"a": 2}, {"a": True}, {"a": "asc"}, {"a.0": 1}, {"$a": 1}],
)
def test_sort_declined(spec: dict[str, Any]) -> None:
    assert compile_sort(spec) is None


# -- Differential: the native paths and mongoeco agree -----------------------------------------

NAMES = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map(".".join)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(-3, 3).map(Int64),
    st.sampled_from([0.5, -1.5, 2.0]),
    st.text(alphabet="ab", max_size=2),
    st.sampled_from([ObjectId("65f0a0000000000000000001"), datetime(2020, 1, 1)]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=8,
)
DOCUMENTS = st.dictionaries(NAMES, VALUES, max_size=3)


def _wire(value: Any) -> Any:
    return bson.decode(bson.encode({"v": value}), CODEC)["v"]


@st.composite
def projections(draw: st.DrawFn) -> dict[str, Any]:
    flag = draw(st.sampled_from([0, 1, True, False]))
    paths = draw(st.lists(PATHS, min_size=1, max_size=3))
    spec: dict[str, Any] = {}
    for path in paths:
        if not any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in spec):
            spec[path] = flag
    if draw(st.booleans()):
        spec["_id"] = 0
    return spec


def _has_empty_document_kept(doc: Any, spec: dict[str, Any]) -> bool:
    """Whether an inclusion keeps a document that lost all its fields (mongoeco drops it)."""
    if not any(spec[p] for p in spec if p != "_id"):
        return False
    return _empty_inside(projected(doc, spec))


def _empty_inside(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v == {} or _empty_inside(v) for v in value.values())
    if isinstance(value, list):
        return any(v == {} or _empty_inside(v) for v in value)
    return False


@settings(max_examples=120, deadline=None)
@given(fields=DOCUMENTS, spec=projections())
def test_projection_agrees_with_mongoeco(fields: Document, spec: dict[str, Any]) -> None:
    pytest.importorskip("mongoeco")
    from mongoeco.core.projections import apply_projection
    from mongoeco.wire.bson_bridge import decode_wire_value, encode_wire_value

    doc = _wire({"_id": 1, **fields})
    assume(not _has_empty_document_kept(doc, spec))
    ours = projected(doc, spec)
    theirs = _wire(encode_wire_value(apply_projection(decode_wire_value(doc), spec)))
    assert bson.encode(ours) == bson.encode(theirs), (spec, doc, ours, theirs)


def _mongoeco_sorts_it_alike(doc: Document, paths: list[str]) -> bool:
    """Whether the sort values of `doc` avoid the shapes mongoeco sorts unlike MongoDB.

    mongoeco sorts an empty array with the arrays (MongoDB: below null), skips array elements
    without the field (MongoDB: null), and takes each path's values apart from the others
    (MongoDB: from one element of a shared array; an error for parallel arrays). It also
    compares embedded documents by field name before value type (MongoDB: type first).
    """
    arrays = 0
    for path in paths:
        node: Any = doc
        names = path.split(".")
        for n, name in enumerate(names):
            node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, list):
                arrays += 1
                rest = names[n + 1 :]
                if not node or (rest and not all(_plain(e, rest) for e in node)):
                    return False
                break
        if _holds_document(node):
            return False
    return arrays <= 1


def _plain(element: Any, names: list[str]) -> bool:
    """Whether a path leads through documents only to a value that is not an array."""
    node = element
    for name in names:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return not isinstance(node, list)


def _holds_document(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(_holds_document(v) for v in value)


@settings(max_examples=120, deadline=None)
@given(
    docs=st.lists(DOCUMENTS, min_size=2, max_size=6),
    spec=st.dictionaries(PATHS, st.sampled_from([1, -1]), min_size=1, max_size=3),
)
def test_sort_agrees_with_mongoeco(docs: list[Document], spec: dict[str, int]) -> None:
    pytest.importorskip("mongoeco")
    from mongoeco.core.sorting import sort_documents
    from mongoeco.wire.bson_bridge import decode_wire_value

    docs = [_wire({"_id": n, **d}) for n, d in enumerate(docs)]
    docs = [d for d in docs if _mongoeco_sorts_it_alike(d, list(spec))]
    assume(len(docs) >= 2)
    theirs = [
        d["_id"] for d in sort_documents([decode_wire_value(d) for d in docs], list(spec.items()))
    ]
    assert order(docs, spec) == theirs, (spec, docs)
