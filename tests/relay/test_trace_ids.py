"""The trace id stored with an event, on the relay's lines about that event."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from outbox import event_context
from tests.relay.support import record_many, running_relay
from tests.support.processes import eventually

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


async def test_a_failed_event_is_logged_with_its_trace_id(
    recording: None,
    settings_for: Callable[..., Settings],
    database: AsyncDatabase[dict[str, object]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="boundbox.relay")
    with event_context(traceparent=TRACEPARENT):
        await record_many("invoice", ["i-traced"], name="issued")  # no queue: NO_ROUTE
    await record_many("invoice", ["i-plain"], name="issued")

    async with running_relay(settings_for(relay_max_attempts=1)):

        async def parked() -> bool:
            return await database["outbox"].count_documents({"status": "failed"}) == 2

        await eventually(parked)

    lines = [r.getMessage() for r in caplog.records if "parked as failed" in r.getMessage()]
    [traced] = [line for line in lines if "invoice:i-traced" in line]
    [plain] = [line for line in lines if "invoice:i-plain" in line]
    assert traced.endswith(f"trace_id={TRACE_ID}"), traced
    assert plain.endswith("trace_id=-"), plain
