"""Fixtures of the deploy tests: the MongoDB fixtures of the consumer tests, shared."""

from tests.consumer.conftest import consumer_db, test_id

__all__ = ["consumer_db", "test_id"]
