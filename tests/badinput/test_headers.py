"""Headers the API reads: Idempotency-Key, If-Match, traceparent and X-Request-ID.

Through the ASGI app, so the app's own limits are what is tested; a real server refuses
overlong headers before the app sees them (test_server.py).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.badinput.commands import COMMANDS, command
from tests.badinput.problems import DB, Shop, nothing_written, problem
from tests.services import factories

KEY_MAX = 255
MEGABYTE = 1024 * 1024
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# Idempotency-Key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("k" * (KEY_MAX + 1), "string_too_long"),
        ("k" * MEGABYTE, "string_too_long"),
        ("", "string_too_short"),
    ],
    ids=["just-over", "one-megabyte", "empty"],
)
async def test_an_idempotency_key_out_of_bounds_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, key: str, kind: str
) -> None:
    async with nothing_written(database):
        for name in COMMANDS:
            path, body = command(shop, name)
            response = await client.post(path, json=body, headers={"Idempotency-Key": key})

            [error] = problem(response, 422, "validation_failed")["errors"]
            assert (error["loc"], error["type"]) == (["header", "idempotency-key"], kind)
            assert len(response.content) < 1000  # the key is not echoed


@pytest.mark.parametrize(
    "key",
    [
        "k" * KEY_MAX,
        b"\x00",
        b"\xff\xfe\x80",
        b"\t tab and spaces \t",
        "$where",
        "a.b.c",
        '{"$gt": ""}',
    ],
    ids=["longest", "nul", "latin-1", "whitespace", "operator", "dots", "json"],
)
async def test_any_idempotency_key_within_bounds_is_stored_and_replayed(
    client: httpx.AsyncClient, database: DB, key: str | bytes
) -> None:
    body = factories.category_body()

    first = await client.post("/categories", json=body, headers={"Idempotency-Key": key})
    again = await client.post("/categories", json=body, headers={"Idempotency-Key": key})

    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    [stored] = await database["idempotency_keys"].find().to_list()
    sent = key.decode("latin-1") if isinstance(key, bytes) else key
    caller, stored_key = json.loads(stored["_id"])  # each caller's keys are their own
    assert caller == "admin"
    assert stored_key in (sent, sent.strip())  # servers may trim a header's edges


# If-Match ----------------------------------------------------------------------------------

STALE = {
    "word": "garbage",
    "weak": 'W/"1"',
    "unclosed": '"1',
    "unopened": '1"',
    "empty-tag": '""',
    "empty": "",
    "negative": '"-1"',
    "decimal": '"1.0"',
    "hex": '"0x1"',
    "plus": '"+1"',
    "inner-space": '" 1"',
    "superscript-one": b'"\xb9"',
    "5000-digits": '"' + "9" * 5000 + '"',
    "one-megabyte": '"' + "x" * MEGABYTE + '"',
    "commas": ",,,",
}
MATCHING = {
    "tag": '"1"',
    "any": "*",
    "list": '"7", "1"',
    "bare": "1",
    "padded": ' "1" ',
}


async def versioned_commands(
    client: httpx.AsyncClient, shop: Shop
) -> list[tuple[str, dict[str, object]]]:
    """A command on each of three aggregates at version 1: two products, and the order."""
    scarce = shop.product_ids[1]
    fresh = (await factories.product(client, category_id=shop.category_id))["id"]
    return [
        (f"/products/{scarce}/price", {"price": "3.10"}),
        (f"/products/{fresh}/restock", {"quantity": 2}),
        (f"/orders/{shop.order_id}/cancel", {}),
    ]


@pytest.mark.parametrize("if_match", STALE.values(), ids=STALE.keys())
async def test_an_if_match_naming_no_current_version_is_a_412(
    client: httpx.AsyncClient, database: DB, shop: Shop, if_match: str | bytes
) -> None:
    commands = await versioned_commands(client, shop)

    async with nothing_written(database):
        for path, body in commands:
            response = await client.post(path, json=body, headers={"If-Match": if_match})

            assert problem(response, 412, "stale_version")["current_version"] == 1


@pytest.mark.parametrize("if_match", MATCHING.values(), ids=MATCHING.keys())
async def test_an_if_match_naming_the_current_version_applies(
    client: httpx.AsyncClient, shop: Shop, if_match: str
) -> None:
    for path, body in await versioned_commands(client, shop):
        response = await client.post(path, json=body, headers={"If-Match": if_match})

        assert response.status_code == 200, response.text
        # Each command moved its aggregate to version 2: the same If-Match is stale now.
        assert response.headers["etag"] == '"2"'


# traceparent and X-Request-ID ----------------------------------------------------------------

BAD_TRACEPARENTS = {
    "word": "garbage",
    "short-ids": "00-zz-01",
    "uppercase": TRACEPARENT.upper(),
    "version-ff": "ff" + TRACEPARENT[2:],
    "zero-trace": "00-" + "0" * 32 + TRACEPARENT[35:],
    "00-with-more": TRACEPARENT + "-more",
    "nul": TRACEPARENT[:10] + "\x00" + TRACEPARENT[11:],
    "latin-1": b"00-\xff" + TRACEPARENT[4:].encode(),
    "one-megabyte": TRACEPARENT + "-" + "a" * MEGABYTE,
}


@pytest.mark.parametrize("header", BAD_TRACEPARENTS.values(), ids=BAD_TRACEPARENTS.keys())
async def test_a_malformed_traceparent_is_dropped_and_the_command_runs(
    client: httpx.AsyncClient, database: DB, header: str | bytes
) -> None:
    response = await client.post(
        "/categories", json=factories.category_body(), headers={"traceparent": header}
    )

    assert response.status_code == 201
    [event] = await factories.events(database)
    assert event["headers"]["traceparent"] is None


async def test_a_valid_traceparent_is_propagated(client: httpx.AsyncClient, database: DB) -> None:
    response = await client.post(
        "/categories", json=factories.category_body(), headers={"traceparent": f" {TRACEPARENT}\t"}
    )

    assert response.status_code == 201
    [event] = await factories.events(database)
    assert event["headers"]["traceparent"] == TRACEPARENT


BAD_REQUEST_IDS = {
    "empty": "",
    "space": "a b",
    "too-long": "r" * 129,
    "nul": b"a\x00b",
    "latin-1": b"\xe9t\xe9",
    "html": "<script>",
    "one-megabyte": "r" * MEGABYTE,
}


@pytest.mark.parametrize("header", BAD_REQUEST_IDS.values(), ids=BAD_REQUEST_IDS.keys())
async def test_an_unusable_request_id_is_replaced_and_the_command_runs(
    client: httpx.AsyncClient, database: DB, header: str | bytes
) -> None:
    response = await client.post(
        "/categories", json=factories.category_body(), headers={"X-Request-ID": header}
    )

    assert response.status_code == 201
    generated = response.headers["x-request-id"]
    assert len(generated) == 32 and generated.isalnum()
    [event] = await factories.events(database)
    assert event["headers"]["correlation_id"] == generated


async def test_errors_carry_a_replaced_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/orders/nope", headers={"X-Request-ID": b"\xff" * 200})

    body = problem(response, 404, "not_found")
    assert body["request_id"] == response.headers["x-request-id"]
    assert len(body["request_id"]) == 32
