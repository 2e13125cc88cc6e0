"""`GET /asyncapi.json`: the AsyncAPI 3.0 document of the events the relay publishes.

Open like `/openapi.json`. Built once from the settings: EXCHANGE_NAME, and the relay's broker
user (the user of RELAY_AMQP_URL, else AMQP_URL), which every message carries as `user_id`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from boundbox import __version__
from boundbox.settings import Settings, broker_user
from services.contracts.asyncapi import document

PATH = "/asyncapi.json"


def events_document(settings: Settings) -> dict[str, Any]:
    """The document for the exchange and relay user that `settings` name."""
    return document(
        exchange=settings.exchange_name,
        user_id=broker_user(settings.relay_broker_url),
        version=__version__,
    )


def install(app: FastAPI, settings: Settings) -> None:
    contract = events_document(settings)

    @app.get(PATH, include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        return JSONResponse(contract)
