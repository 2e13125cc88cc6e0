"""Documents written without Beanie's encoder are exactly what Beanie would have written."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from beanie.odm.utils.dump import get_dict
from bson import ObjectId

from services.store import catalog
from services.store.documents import (
    IdempotencyRecord,
    OrderDocument,
    OrderLineDocument,
    stored,
)


@pytest.mark.usefixtures("client")  # the app's lifespan initialises Beanie
async def test_stored_documents_equal_beanies_encoding_field_for_field() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    line = OrderLineDocument(product_id="p" * 24, product_name="P", quantity=2, unit_price="1.50")
    documents = [
        OrderDocument(
            id=ObjectId(), customer="ada", lines=[line], status="placed", placed_at=now, version=1
        ),
        IdempotencyRecord(
            id='["ada","key"]',
            request_hash="h" * 64,
            status_code=201,
            body={"id": "o1", "lines": [{"quantity": 2}], "cancelled_at": None},
            headers={"ETag": '"1"'},
            created_at=now,
        ),
    ]
    for document in documents:
        encoded = get_dict(document, to_db=True, keep_nulls=True)
        mine = stored(document)
        assert mine == encoded
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in encoded.items()}
        assert next(iter(mine)) == "_id"


async def test_an_order_written_so_reads_back_through_beanie(client: httpx.AsyncClient) -> None:
    category = (await client.post("/categories", json={"name": "C"})).json()["id"]
    product = await client.post(
        "/products", json={"name": "P", "price": "2.50", "category_id": category, "stock": 5}
    )
    placed = await client.post(
        "/orders",
        json={"customer": "admin", "items": [{"product_id": product.json()["id"], "quantity": 2}]},
        headers={"Idempotency-Key": "k1"},
    )
    assert placed.status_code == 201, placed.text
    order = await OrderDocument.get(ObjectId(placed.json()["id"]))
    assert order is not None
    assert (order.customer, order.lines[0].quantity, order.status) == ("admin", 2, "placed")
    record = await IdempotencyRecord.find_one({})
    assert record is not None
    assert record.status_code == 201
    assert record.body == placed.json()


async def test_products_read_without_beanie_equal_those_read_through_it(
    client: httpx.AsyncClient,
) -> None:
    category = (await client.post("/categories", json={"name": "C"})).json()["id"]
    ids = [
        (
            await client.post(
                "/products",
                json={"name": f"P{n}", "price": f"{n}.05", "category_id": category, "stock": n},
            )
        ).json()["id"]
        for n in (1, 2)
    ]
    by_id = await catalog.products_by_id([*ids, "not-an-id", "0" * 24])
    assert by_id == {pid: await catalog.get_product(pid) for pid in ids}
