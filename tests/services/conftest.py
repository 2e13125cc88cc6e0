"""The API under test, on this test's own database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.services.apps import api_settings, running_api


@pytest.fixture
async def client(
    mongodb_url: str, database: AsyncDatabase[dict[str, object]]
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(api_settings(mongodb_url, database.name)) as client:
        yield client
