"""Field by field: wrong types, bounds, unknown fields and unknown references, refused exactly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.badinput.problems import DB, Shop, error_locs, nothing_written, problem
from tests.services import factories

STOCK_MAX = 1_000_000_000
QUANTITY_MAX = 1_000_000


async def refused(
    client: httpx.AsyncClient, database: DB, path: str, body: Any, loc: list[str | int], kind: str
) -> None:
    """`body` at `path` is a 422 naming `loc` with error type `kind`, and writes nothing."""
    async with nothing_written(database):
        response = await client.post(path, json=body)

    errors = problem(response, 422, "validation_failed")["errors"]
    assert [loc, kind] in [[e["loc"], e["type"]] for e in errors], errors


# Product fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("stock", "5", "int_type"),  # a number as a string
        ("stock", 5.0, "int_type"),
        ("stock", 1.5, "int_type"),
        ("stock", True, "int_type"),
        ("stock", None, "int_type"),
        ("stock", -1, "greater_than_equal"),
        ("stock", STOCK_MAX + 1, "less_than_equal"),
        ("stock", 10**30, "less_than_equal"),
        ("price", 12.345, "decimal_max_places"),  # a float with 3 decimals
        ("price", "12.345", "decimal_max_places"),
        ("price", 0.1 + 0.2, "decimal_max_digits"),
        ("price", 0, "greater_than"),
        ("price", "0.00", "greater_than"),
        ("price", -1, "greater_than"),
        ("price", "100000000.00", "decimal_whole_digits"),
        ("price", "1e2", "decimal_format"),
        ("price", " 12.50", "decimal_format"),
        ("price", "1_000.00", "decimal_format"),
        ("price", "+1.00", "decimal_format"),
        ("price", "\u0661\u0662", "decimal_format"),  # Arabic-Indic digits
        ("price", "\uff11\uff12.\uff15\uff10", "decimal_format"),  # fullwidth digits
        ("price", "NaN", "decimal_format"),
        ("price", True, "decimal_type"),
        ("price", None, "decimal_type"),
        ("price", {"$gt": 0}, "decimal_type"),
        ("name", 42, "string_type"),
        ("name", ["Mug"], "string_type"),
        ("name", "", "string_too_short"),
        ("name", "   ", "string_too_short"),
        ("name", "x" * 201, "string_too_long"),
        ("category_id", 42, "string_type"),
        ("category_id", {"$ne": None}, "string_type"),
        ("category_id", "x" * 65, "string_too_long"),
        ("color", "red", "extra_forbidden"),
    ],
)
async def test_a_bad_product_field_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, field: str, value: Any, kind: str
) -> None:
    body = {**factories.product_body(shop.category_id), field: value}

    await refused(client, database, "/products", body, ["body", field], kind)


@pytest.mark.parametrize("field", ["name", "price", "category_id", "stock"])
async def test_a_missing_product_field_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, field: str
) -> None:
    body = factories.product_body(shop.category_id)
    del body[field]

    await refused(client, database, "/products", body, ["body", field], "missing")


@pytest.mark.parametrize(
    "category_id",
    ["nope", "6650f1c2a4b5c6d7e8f90123", "6650F1C2A4B5C6D7E8F90123", "", "$where"],
)
async def test_a_product_in_a_malformed_or_unknown_category_is_a_422(
    client: httpx.AsyncClient, database: DB, category_id: str
) -> None:
    body = factories.product_body(category_id)
    kind = "string_too_short" if category_id == "" else "unknown_reference"

    await refused(client, database, "/products", body, ["body", "category_id"], kind)


async def test_a_product_id_is_no_category_id(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    body = factories.product_body(shop.product_ids[0])

    await refused(client, database, "/products", body, ["body", "category_id"], "unknown_reference")


@pytest.mark.parametrize(
    ("price", "stored"),
    [("12.340", "12.34"), (12.5, "12.50"), ("0012.50", "12.50"), ("99999999.99", "99999999.99")],
)
async def test_prices_equal_to_two_decimals_are_accepted_as_strings(
    client: httpx.AsyncClient, shop: Shop, price: Any, stored: str
) -> None:
    product = await factories.product(client, category_id=shop.category_id, price=price)

    assert product["price"] == stored


@pytest.mark.parametrize("stock", [0, STOCK_MAX])
async def test_stock_bounds_are_accepted(client: httpx.AsyncClient, shop: Shop, stock: int) -> None:
    product = await factories.product(client, category_id=shop.category_id, stock=stock)

    assert product["stock"] == stock


# Price changes and restocks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "body", "loc", "kind"),
    [
        ("price", {"price": 9.999}, ["body", "price"], "decimal_max_places"),
        ("price", {"price": "-0.01"}, ["body", "price"], "decimal_format"),
        ("price", {"price": "9.99", "currency": "EUR"}, ["body", "currency"], "extra_forbidden"),
        ("price", {}, ["body", "price"], "missing"),
        ("restock", {"quantity": "5"}, ["body", "quantity"], "int_type"),
        ("restock", {"quantity": 5.0}, ["body", "quantity"], "int_type"),
        ("restock", {"quantity": 0}, ["body", "quantity"], "greater_than"),
        ("restock", {"quantity": -5}, ["body", "quantity"], "greater_than"),
        ("restock", {"quantity": STOCK_MAX + 1}, ["body", "quantity"], "less_than_equal"),
        ("restock", {"quantity": 2**63}, ["body", "quantity"], "less_than_equal"),
        # The product has 1,000,000 units: this many more would pass the stock limit.
        ("restock", {"quantity": STOCK_MAX}, ["body", "quantity"], "value_error"),
        ("restock", {"quantity": 1, "note": "x"}, ["body", "note"], "extra_forbidden"),
    ],
)
async def test_a_bad_price_change_or_restock_is_a_422(
    client: httpx.AsyncClient,
    database: DB,
    shop: Shop,
    command: str,
    body: dict[str, Any],
    loc: list[str | int],
    kind: str,
) -> None:
    path = f"/products/{shop.product_ids[0]}/{command}"

    await refused(client, database, path, body, loc, kind)


# Orders ------------------------------------------------------------------------------------


def order(shop: Shop, *, lines: int = 1, **line: Any) -> dict[str, Any]:
    item = {"product_id": shop.product_ids[0], "quantity": 1, **line}
    return {"customer": "ada@example.com", "items": [item] * lines}


@pytest.mark.parametrize(
    ("line", "field", "kind"),
    [
        ({"quantity": "1"}, "quantity", "int_type"),  # a number as a string
        ({"quantity": 1.0}, "quantity", "int_type"),
        ({"quantity": True}, "quantity", "int_type"),
        ({"quantity": None}, "quantity", "int_type"),
        ({"quantity": 0}, "quantity", "greater_than"),
        ({"quantity": -1}, "quantity", "greater_than"),
        ({"quantity": QUANTITY_MAX + 1}, "quantity", "less_than_equal"),
        ({"quantity": 10**30}, "quantity", "less_than_equal"),
        ({"product_id": 42}, "product_id", "string_type"),
        ({"product_id": ""}, "product_id", "string_too_short"),
        ({"product_id": "nope"}, "product_id", "unknown_reference"),
        ({"product_id": "6650f1c2a4b5c6d7e8f90123"}, "product_id", "unknown_reference"),
        ({"discount": 10}, "discount", "extra_forbidden"),
    ],
)
async def test_a_bad_order_line_is_a_422_on_that_line(
    client: httpx.AsyncClient,
    database: DB,
    shop: Shop,
    line: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    await refused(
        client, database, "/orders", order(shop, **line), ["body", "items", 0, field], kind
    )


async def test_an_order_of_another_aggregate_s_id_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    body = order(shop, product_id=shop.category_id)

    await refused(
        client, database, "/orders", body, ["body", "items", 0, "product_id"], "unknown_reference"
    )


@pytest.mark.parametrize(("lines", "kind"), [(0, "too_short"), (101, "too_long")])
async def test_an_order_of_0_or_101_lines_is_a_422(
    client: httpx.AsyncClient, database: DB, shop: Shop, lines: int, kind: str
) -> None:
    await refused(client, database, "/orders", order(shop, lines=lines), ["body", "items"], kind)


async def test_an_order_of_100_lines_is_placed(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.post("/orders", json=order(shop, lines=100))

    assert response.status_code == 201
    assert len(response.json()["items"]) == 100


@pytest.mark.parametrize(
    ("overrides", "field", "kind"),
    [
        ({"customer": ""}, "customer", "string_too_short"),
        ({"customer": "x" * 201}, "customer", "string_too_long"),
        ({"customer": None}, "customer", "string_type"),
        ({"items": None}, "items", "list_type"),
        ({"items": {"product_id": "x", "quantity": 1}}, "items", "list_type"),
        ({"coupon": "FREE"}, "coupon", "extra_forbidden"),
    ],
)
async def test_a_bad_order_field_is_a_422(
    client: httpx.AsyncClient,
    database: DB,
    shop: Shop,
    overrides: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    body = {**order(shop), **overrides}

    await refused(client, database, "/orders", body, ["body", field], kind)


async def test_more_than_the_stock_is_a_409_naming_the_product(
    client: httpx.AsyncClient, database: DB, shop: Shop
) -> None:
    scarce = shop.product_ids[1]  # 3 units
    body = {"customer": "ada", "items": [{"product_id": scarce, "quantity": 4}]}

    async with nothing_written(database):
        response = await client.post("/orders", json=body)

    assert problem(response, 409, "insufficient_stock")["product_id"] == scarce


async def test_every_bad_field_is_reported_at_once(client: httpx.AsyncClient, database: DB) -> None:
    body = {"name": 1, "price": "x", "category_id": [], "stock": "y", "a": 1, "b": 2}

    async with nothing_written(database):
        response = await client.post("/products", json=body)

    locs = error_locs(problem(response, 422))
    fields = ["name", "price", "category_id", "stock", "a", "b"]
    assert sorted(loc[1] for loc in locs) == sorted(fields)
