"""Every operation of the OpenAPI document, fuzzed by schemathesis: no 5xx, JSON errors.

Cases are valid (positive) or invalid (negative) against the schema, with generated headers,
including the ones the schema does not list (X-Request-ID, traceparent). Valid cases aim at
real ids and ETags a part of the time, so commands also get past their 404s and 412s.
Generation is derandomized: a run is reproducible, and bounded by MAX_EXAMPLES.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api import create_app
from tests.badinput.problems import Shop, json_error
from tests.services.apps import api_settings

MAX_EXAMPLES = 50
BASE_URL = "http://api.test"

# The document only: building the app connects to nothing.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(api_settings("mongodb://127.0.0.1:1", "unused")).openapi()
)
OPERATIONS = [(op.method.upper(), op.path) for op in (r.ok() for r in SCHEMA.get_all_operations())]
# Only these take input that can be made invalid (a body, constrained query or header).
NEGATABLE = [
    ("POST", "/categories"),
    ("POST", "/products"),
    ("POST", "/products/{product_id}/price"),
    ("POST", "/products/{product_id}/restock"),
    ("POST", "/orders"),
    ("POST", "/orders/{order_id}/cancel"),
    ("GET", "/products"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# Any byte but CR and LF, as latin-1 text (NUL and controls too: a server would refuse those
# first, the app must not choke on them either).
header_bytes = st.text(
    st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=300
).map(lambda text: text.encode("latin-1"))


EXTRA_HEADERS = {
    "X-Request-ID": st.one_of(st.just(b"req-fuzz-1"), header_bytes),
    "traceparent": st.one_of(st.just(TRACEPARENT.encode()), header_bytes),
}


def extra_headers() -> st.SearchStrategy[dict[str, bytes]]:
    return st.fixed_dictionaries({}, optional=EXTRA_HEADERS)


def aim_at(shop: Shop, case: Case, data: st.DataObject) -> None:
    """Points a valid case at real ids and a matching If-Match, some of the time."""
    real = {
        "category_id": [shop.category_id],
        "product_id": list(shop.product_ids),
        "order_id": [shop.order_id],
    }
    for name, ids in real.items():
        if name in case.path_parameters and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(ids))
    headers = case.headers if case.headers is not None else {}
    if "if-match" in headers and data.draw(st.booleans(), label="usable If-Match"):
        headers["if-match"] = data.draw(st.sampled_from(["*", '"1"', '"1", "2", "3"']))
    body = case.body
    if isinstance(body, dict):
        if "category_id" in body and data.draw(st.booleans(), label="real category"):
            body["category_id"] = shop.category_id
        for item in body.get("items") or []:
            if isinstance(item, dict) and data.draw(st.booleans(), label="real product"):
                item["product_id"] = data.draw(st.sampled_from(shop.product_ids))


async def send(client: httpx.AsyncClient, case: Case, extra: dict[str, bytes]) -> httpx.Response:
    """The case as schemathesis would send it, plus `extra` headers; answered in-process."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    content: dict[str, Any] = {}
    if "json" in kwargs:
        content["json"] = kwargs["json"]
    elif "data" in kwargs:
        content["content"] = kwargs["data"]
    headers = [*kwargs["headers"].items(), *extra.items()]
    return await client.request(
        kwargs["method"], kwargs["url"], params=kwargs["params"], headers=headers, **content
    )


def check(case: Case, response: httpx.Response) -> None:
    """Schemathesis' checks, and a JSON body on every error."""
    # The checks re-read the request with `requests`, which refuses the raw header bytes we
    # sent on purpose: they see the request without the extra headers.
    for name in EXTRA_HEADERS:
        response.request.headers.pop(name, None)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        json_error(response)


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # One app and one database serve all examples of a test; that is the point here.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@FUZZ
@given(data=st.data())
async def test_valid_input_never_breaks_the_api(
    client: httpx.AsyncClient, shop: Shop, method: str, path: str, data: st.DataObject
) -> None:
    case = data.draw(SCHEMA[path][method].as_strategy(GenerationMode.POSITIVE), label="case")
    aim_at(shop, case, data)

    response = await send(client, case, data.draw(extra_headers(), label="extra headers"))

    check(case, response)


@pytest.mark.parametrize(("method", "path"), NEGATABLE)
@FUZZ
@given(data=st.data())
async def test_invalid_input_is_a_json_4xx(
    client: httpx.AsyncClient, shop: Shop, method: str, path: str, data: st.DataObject
) -> None:
    case = data.draw(SCHEMA[path][method].as_strategy(GenerationMode.NEGATIVE), label="case")

    response = await send(client, case, data.draw(extra_headers(), label="extra headers"))

    check(case, response)
    assert response.status_code < 500
