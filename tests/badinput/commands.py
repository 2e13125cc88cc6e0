"""The API's commands as (path, valid body) pairs, aimed at a shop's real aggregates."""

from __future__ import annotations

import json
from typing import Any

from tests.badinput.problems import Shop
from tests.services import factories

COMMANDS = ["category", "product", "price", "restock", "order", "cancel"]


def command(shop: Shop, name: str) -> tuple[str, dict[str, Any]]:
    """A valid command: sent as is, it succeeds."""
    mug = shop.product_ids[0]
    return {
        "category": ("/categories", factories.category_body()),
        "product": ("/products", factories.product_body(shop.category_id)),
        "price": (f"/products/{mug}/price", {"price": "7.25"}),
        "restock": (f"/products/{mug}/restock", {"quantity": 5}),
        "order": ("/orders", factories.order_body((mug, 1))),
        "cancel": (f"/orders/{shop.order_id}/cancel", {}),
    }[name]


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON, padded with insignificant whitespace to exactly `size` bytes."""
    encoded = json.dumps(body).encode()
    assert len(encoded) <= size
    return encoded + b" " * (size - len(encoded))
