"""The API under test on this test's own database, and a little real data to aim at."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.badinput.problems import Shop
from tests.services import factories
from tests.services.apps import api_settings, running_api


@pytest.fixture
async def client(
    mongodb_url: str, database: AsyncDatabase[dict[str, object]]
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(api_settings(mongodb_url, database.name)) as client:
        yield client


@pytest.fixture
async def shop(client: httpx.AsyncClient) -> Shop:
    """A category, a well-stocked product, a scarce one, and a placed order of the first."""
    category = await factories.category(client)
    products = [
        await factories.product(client, category_id=category["id"], stock=stock)
        for stock in (1_000_000, 3)
    ]
    order = await factories.order(client, (products[0]["id"], 1))
    return Shop(
        category_id=category["id"],
        product_ids=(products[0]["id"], products[1]["id"]),
        order_id=order["id"],
    )
