"""End-to-end fixtures: the broker fixtures of the consumer tests, and the shop's environment."""

from tests.consumer.conftest import broker, channel, names, test_id
from tests.e2e.test_sales_e2e import shop_env
from tests.sales.conftest import start_sales

__all__ = ["broker", "channel", "names", "shop_env", "start_sales", "test_id"]
