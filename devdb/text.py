"""`$text` search over a collection's text index: words, "phrases" and -negations.

A simplified form of MongoDB's: terms are matched case-insensitively (unless
`$caseSensitive`) against the words of the indexed fields, with a plain English plural folded
("worlds" finds "world"); there is no stemming beyond that, no stop words and no language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from devdb import errors
from devdb.store.collection import Collection
from devdb.store.indexes import Index
from devdb.store.versions import Document

WORD = re.compile(r"\w+")
PHRASE = re.compile(r'"([^"]*)"')


def text_index(collection: Collection) -> Index:
    for index in collection.indexes.values():
        if "_fts" in index.spec.get("key", {}):
            return index
    raise errors.CommandError(27, "IndexNotFound", "text index required for $text query")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for element in value:
            yield from _strings(element)
    elif isinstance(value, dict):
        for element in value.values():
            yield from _strings(element)


def _at(document: Any, path: list[str]) -> Iterator[str]:
    if not path:
        yield from _strings(document)
    elif isinstance(document, dict):
        if path[0] in document:
            yield from _at(document[path[0]], path[1:])
    elif isinstance(document, list):
        for element in document:
            yield from _at(element, path)


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def compile_text(collection: Collection, spec: Any) -> Callable[[Document], bool]:
    """A predicate: the document's indexed text holds a wanted term and no unwanted one."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("$search"), str):
        raise errors.CommandError(2, "BadValue", "$text needs a $search string")
    fields = list((text_index(collection).spec.get("weights") or {}).keys())
    sensitive = bool(spec.get("$caseSensitive"))
    search = spec["$search"] if sensitive else spec["$search"].lower()
    phrases = PHRASE.findall(search)
    words = WORD.findall(PHRASE.sub(" ", search).replace("-", " -"))
    raw_terms = PHRASE.sub(" ", search).split()
    negated = {_fold(w) for t in raw_terms if t.startswith("-") for w in WORD.findall(t)}
    wanted = {_fold(w) for w in words} - negated

    def text_of(document: Document) -> str:
        if fields == ["$**"]:
            found = list(_strings(document))
        else:
            found = [s for f in fields for s in _at(document, f.split("."))]
        joined = " ".join(found)
        return joined if sensitive else joined.lower()

    def matches(document: Document) -> bool:
        text = text_of(document)
        present = {_fold(w) for w in WORD.findall(text)}
        if present & negated:
            return False
        if phrases and not all(p in text for p in phrases):
            return False
        return bool(present & wanted) or (bool(phrases) and not wanted)

    return matches
