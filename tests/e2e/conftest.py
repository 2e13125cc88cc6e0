"""End-to-end fixtures: the broker fixtures of the consumer tests, shared."""

from tests.consumer.conftest import broker, channel, names, test_id
from tests.sales.conftest import start_sales

__all__ = ["broker", "channel", "names", "start_sales", "test_id"]
