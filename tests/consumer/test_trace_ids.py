"""The trace id on the consumer's lines about one message, tracing on or off."""

from __future__ import annotations

import logging

import pytest
from aio_pika.abc import AbstractRobustChannel

from tests.consumer.conftest import Names, StartConsumer
from tests.consumer.messages import event_message
from tests.consumer.test_consumer import COUNTED
from tests.consumer.test_contract_checks import checked_handlers, dead_letter_of

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


async def test_a_dead_lettered_message_is_logged_with_its_trace_id(
    start_consumer: StartConsumer,
    channel: AbstractRobustChannel,
    names: Names,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="boundbox.consumer")
    run = await start_consumer(checked_handlers())
    bad = event_message(COUNTED, {"key": "x" * 11})
    bad.headers["traceparent"] = TRACEPARENT
    untraced = event_message(COUNTED, {"key": "y" * 11})

    await dead_letter_of(run, channel, bad, "t1")
    await dead_letter_of(run, channel, untraced, "t2")

    lines = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    [traced] = [line for line in lines if str(bad.message_id) in line]
    [plain] = [line for line in lines if str(untraced.message_id) in line]
    assert traced.endswith(f"trace_id={TRACE_ID}"), traced
    assert plain.endswith("trace_id=-"), plain
