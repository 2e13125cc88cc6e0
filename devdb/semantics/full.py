"""MongoDB's full semantics through mongoeco's engine, on our BSON documents.

mongoeco (its `core`: filters, updates, projections, sorting, aggregation) is faithful to
MongoDB but works on its own value types and is slow for hot paths. devdb uses it for what the
native fast paths (`filters`, `updates`, `projection`) decline: every value crosses the bridge
both ways, and mongoeco's failures become MongoDB error replies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from mongoeco.core.aggregation.stages import apply_pipeline
from mongoeco.core.filtering import QueryEngine
from mongoeco.core.operators import UpdateEngine
from mongoeco.core.projections import apply_projection
from mongoeco.core.query_plan import compile_filter
from mongoeco.core.sorting import sort_documents
from mongoeco.core.upserts import seed_upsert_document
from mongoeco.wire.bson_bridge import decode_wire_value, encode_wire_value

from devdb.errors import CommandError

Document = dict[str, Any]
Resolver = Callable[[str], list[Document]]


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turns mongoeco's exceptions into CommandError with MongoDB's code."""
    try:
        yield
    except CommandError:
        raise
    except Exception as e:
        code = getattr(e, "code", None)
        name = getattr(e, "code_name", None) or getattr(e, "codeName", None)
        message = str(getattr(e, "message", None) or e) or type(e).__name__
        if not isinstance(code, int):
            code, name = 2, "BadValue"
        raise CommandError(code, str(name or "Location" + str(code)), message) from e


def to_eco(value: Any) -> Any:
    return decode_wire_value(value)


def from_eco(value: Any) -> Any:
    return encode_wire_value(value)


def compile_match(spec: Mapping[str, Any]) -> Callable[[Document], bool]:
    """A predicate for `spec`; raises CommandError for a malformed filter."""
    with translated():
        plan = compile_filter(to_eco(dict(spec)))

    def match(document: Document) -> bool:
        with translated():
            return bool(QueryEngine.match_plan(to_eco(document), plan))

    return match


def apply_update(
    document: Document,
    spec: Mapping[str, Any],
    *,
    inserting: bool = False,
    selector: Mapping[str, Any] | None = None,
    array_filters: list[Any] | None = None,
) -> tuple[Document, bool]:
    """The updated copy of `document`, and whether it changed."""
    with translated():
        target = to_eco(document)
        changed = UpdateEngine.apply_update(
            target,
            to_eco(dict(spec)),
            selector_filter=to_eco(dict(selector)) if selector else None,
            array_filters=to_eco(array_filters) if array_filters else None,
            is_upsert_insert=inserting,
        )
        return from_eco(target), bool(changed)


def apply_pipeline_update(
    document: Document, pipeline: list[Any], *, variables: Mapping[str, Any] | None = None
) -> Document:
    """The document an update pipeline makes of `document`."""
    (result,) = aggregate([document], pipeline, resolver=None, variables=variables)
    return result


def seed_upsert(filter: Mapping[str, Any]) -> Document:
    """The document an upsert starts from: the filter's equality fields."""
    with translated():
        seed: Document = {}
        seed_upsert_document(seed, to_eco(dict(filter)))
        return dict(from_eco(seed))


def project(
    documents: Iterable[Document], spec: Mapping[str, Any], selector: Any = None
) -> list[Document]:
    with translated():
        eco_spec = to_eco(dict(spec))
        eco_selector = to_eco(dict(selector)) if selector else None
        return [
            from_eco(apply_projection(to_eco(d), eco_spec, selector_filter=eco_selector))
            for d in documents
        ]


def sort(documents: list[Document], spec: Mapping[str, Any]) -> list[Document]:
    with translated():
        pairs = list(dict(spec).items())
        return [from_eco(d) for d in sort_documents([to_eco(d) for d in documents], pairs)]


def aggregate(
    documents: Iterable[Document],
    pipeline: list[Any],
    *,
    resolver: Resolver | None,
    variables: Mapping[str, Any] | None = None,
) -> list[Document]:
    """Runs `pipeline` over `documents`; `resolver` gives other collections ($lookup...)."""

    def eco_resolver(name: str) -> list[Any]:
        assert resolver is not None
        return [to_eco(d) for d in resolver(name)]

    with translated():
        result = apply_pipeline(
            [to_eco(d) for d in documents],
            to_eco(list(pipeline)),
            collection_resolver=eco_resolver if resolver else None,
            variables=to_eco(dict(variables)) if variables else None,
        )
        return [from_eco(d) for d in result]
