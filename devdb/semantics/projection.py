"""MongoDB's find projections and sort orders on BSON documents: the native fast paths.

`compile_projection` handles plain inclusion and exclusion projections and `compile_sort` every
sort without `$meta`; each returns None for what it declines, and the caller uses mongoeco's
engine (`semantics.full`) instead. Collation is not considered: a caller with one must not use
these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from bson.int64 import Int64

from devdb.bsonvalues import sort_key
from devdb.errors import bad_value
from devdb.semantics.sentinel import Sentinel

# A projection as a tree of field names: None ends a path, a dict holds the paths inside it.
Tree = dict[str, "Tree | None"]
Document = dict[str, Any]

_NUMBERS: Final[frozenset[type]] = frozenset({bool, int, float, Int64})


_MISSING: Final = Sentinel("MISSING")  # no value at the path
_ARRAY: Final = Sentinel("ARRAY")  # the path meets an array: keys need the full generator
_UNDEFINED: Final = Sentinel("UNDEFINED")  # the key of an empty array, below null

# `sort_key` heads its tuples with MongoDB's canonical type rank; undefined's is 0, between
# MinKey's (-1) and null's (5).
_UNDEFINED_KEY: Final = (0,)


def compile_projection(spec: Mapping[str, Any]) -> Callable[[Document], Document] | None:
    """A function projecting a document, for plain inclusions or exclusions; else None.

    The projected document shares unchanged values with its source: treat both as read-only.
    """
    if not isinstance(spec, Mapping):
        return None
    flags: dict[tuple[str, ...], bool] = {}
    for dotted, value in spec.items():
        path = _path(dotted)
        if path is None or type(value) not in _NUMBERS or value not in (0, 1):
            return None  # operators, expressions, literals, positional or numeric paths
        flags[path] = bool(value)
    id_flag = flags.pop(("_id",), None)
    modes = set(flags.values())
    if len(modes) > 1 or any(path[0] == "_id" for path in flags):
        return None
    if not modes and id_flag is None:
        return dict
    including = modes == {True} or (not modes and id_flag is True)
    if not including and id_flag is True:
        return None  # {_id: 1, a: 0}: left to mongoeco
    tree = _tree(list(flags))
    if tree is None:
        return None
    if including and id_flag is not False:
        tree["_id"] = None  # _id is included unless excluded
    elif not including and id_flag is False:
        tree["_id"] = None
    return _inclusion(tree) if including else _exclusion(tree)


def _path(dotted: object) -> tuple[str, ...] | None:
    """The fields of a plain dotted path; None for positional, operator or numeric parts."""
    if not isinstance(dotted, str) or "\x00" in dotted:
        return None
    parts = tuple(dotted.split("."))
    if any(not p or p[0] == "$" or p.isdigit() for p in parts):
        return None
    return parts


def _tree(paths: list[tuple[str, ...]]) -> Tree | None:
    """The paths as a tree; None when one path lies inside another (MongoDB's path collision)."""
    root: Tree = {}
    for path in sorted(paths):  # a path comes before the paths inside it
        node = root
        for name in path[:-1]:
            child = node.setdefault(name, {})
            if child is None:
                return None
            node = child
        if path[-1] in node:
            return None
        node[path[-1]] = None
    return root


def _inclusion(tree: Tree) -> Callable[[Document], Document]:
    """The projection keeping the tree's paths, in the document's own field order."""

    def project(doc: Document) -> Document:
        return _included(doc, tree)

    return project


def _included(doc: Document, tree: Tree) -> Document:
    """The fields of `doc` on the tree's paths, in document order."""
    out: Document = {}
    for name, value in doc.items():
        if name in tree:
            inside = tree[name]
            if inside is None:
                out[name] = value
            elif (kept := _included_inside(value, inside)) is not _MISSING:
                out[name] = kept
    return out


def _included_inside(value: Any, tree: Tree) -> Any:
    """What a value keeps of paths inside it: documents are projected, arrays element-wise."""
    if isinstance(value, dict):
        return _included(value, tree)
    if isinstance(value, list):
        # find projections recurse into nested arrays and drop the elements with no fields.
        kept = (_included_inside(element, tree) for element in value)
        return [element for element in kept if element is not _MISSING]
    return _MISSING


def _exclusion(tree: Tree) -> Callable[[Document], Document]:
    """The projection dropping the tree's paths."""

    def project(doc: Document) -> Document:
        return _excluded(doc, tree)

    return project


def _excluded(doc: Document, tree: Tree) -> Document:
    """`doc` without the tree's paths."""
    out: Document = {}
    for name, value in doc.items():
        if name not in tree:
            out[name] = value
        elif (inside := tree[name]) is not None:
            out[name] = _excluded_inside(value, inside)
    return out


def _excluded_inside(value: Any, tree: Tree) -> Any:
    """A value without the paths inside it; scalars stay as they are."""
    if isinstance(value, dict):
        return _excluded(value, tree)
    if isinstance(value, list):
        return [_excluded_inside(element, tree) for element in value]
    return value


def compile_sort(spec: Mapping[str, Any]) -> Callable[[Document], Any] | None:
    """A `sorted()` key implementing a sort document, or None (`$meta`, numeric paths...).

    As MongoDB, an array sorts by its least element ascending and its greatest descending,
    an empty one below null, missing as null; the key raises BadValue for parallel arrays.
    """
    if not isinstance(spec, Mapping) or not spec:
        return None
    paths: list[tuple[str, ...]] = []
    ascending: list[bool] = []
    for dotted, direction in spec.items():
        path = _path(dotted)
        if path is None or type(direction) not in _NUMBERS - {bool} or direction not in (1, -1):
            return None
        paths.append(path)
        ascending.append(direction == 1)
    return _SortKey(tuple(paths), tuple(ascending))


class _Descending:
    """A sort key in reverse order."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.key == other.key)

    __hash__ = None  # type: ignore[assignment]  # ordered, never hashed


class _SortKey:
    """The key function of one sort document."""

    __slots__ = ("_ascending", "_paths")

    def __init__(self, paths: tuple[tuple[str, ...], ...], ascending: tuple[bool, ...]) -> None:
        self._paths = paths
        self._ascending = ascending

    def __call__(self, doc: Document) -> Any:
        values = []
        for path in self._paths:
            value = _plain_value(doc, path)
            if value is _ARRAY:
                return min(self._encode(key) for key in _index_keys(doc, self._paths))
            values.append(value)
        return self._encode(values)

    def _encode(self, values: list[Any]) -> Any:
        """The comparable key of one tuple of sort values."""
        ranks = [
            _rank(v) if up else _Descending(_rank(v))
            for v, up in zip(values, self._ascending, strict=True)
        ]
        return ranks[0] if len(ranks) == 1 else tuple(ranks)


def _rank(value: Any) -> Any:
    """A value's place in MongoDB's sort order, undefined (an empty array's key) included."""
    return _UNDEFINED_KEY if value is _UNDEFINED else sort_key(value)


def _plain_value(doc: Document, path: tuple[str, ...]) -> Any:
    """The value at a path free of arrays (None when missing); _ARRAY when it meets one."""
    node: Any = doc
    for name in path:
        if not isinstance(node, dict):
            return None
        node = node.get(name)
        if isinstance(node, list):
            return _ARRAY
    return node


def _index_keys(doc: Document, paths: tuple[tuple[str, ...], ...]) -> list[list[Any]]:
    """The key tuples MongoDB's index key generator makes of `doc`: one per array element."""
    keys: list[list[Any]] = []
    _expand(doc, list(paths), [None] * len(paths), keys)
    return keys


def _expand(
    node: Any, rests: list[tuple[str, ...] | None], fixed: list[Any], keys: list[list[Any]]
) -> None:
    """Fixes each path's value below `node`, expanding the one array they meet (if any)."""
    array: list[Any] | None = None
    expanding: list[int] = []
    for n, rest in enumerate(rests):
        if rest is None:
            continue
        value, after = _descend(node, rest)
        if isinstance(value, list):
            if array is not None and value is not array:
                raise bad_value("cannot sort with keys that are parallel arrays")
            array = value
            expanding.append(n)
            rests[n] = after
        else:
            fixed[n] = None if value is _MISSING else value
            rests[n] = None
    if array is None:
        keys.append(fixed)
        return
    # Paths sharing the array expand together, element by element; an empty one is undefined.
    for element in array or [_UNDEFINED]:
        element_fixed, element_rests = list(fixed), list(rests)
        for n in expanding:
            if not element_rests[n]:
                element_fixed[n], element_rests[n] = element, None
        _expand(element if isinstance(element, dict) else {}, element_rests, element_fixed, keys)


def _descend(node: Any, path: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """The value at `path` below `node`, stopping at an array: (value, the path after it)."""
    for n, name in enumerate(path):
        if not isinstance(node, dict):
            return _MISSING, ()
        node = node.get(name, _MISSING)
        if node is _MISSING:
            return _MISSING, ()
        if isinstance(node, list):
            return node, path[n + 1 :]
    return node, ()
