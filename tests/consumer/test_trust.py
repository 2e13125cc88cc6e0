"""Trusted publishers: the check on a message's AMQP user_id, and where the trusted set comes from.

Pure: the broker's side (it refuses a forged user_id) is tests/deploy/test_broker_users.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from boundbox.settings import Settings, broker_user
from outbox.consumer import TrustedPublishers, UntrustedPublisherError


@dataclass
class FakeMessage:
    user_id: str | None


def check(trusted: TrustedPublishers, user_id: str | None) -> None:
    message: Any = FakeMessage(user_id)
    trusted.check(message)


def test_a_trusted_user_passes_any_other_or_none_is_refused() -> None:
    trusted = TrustedPublishers(["boundbox-relay"])
    check(trusted, "boundbox-relay")
    with pytest.raises(UntrustedPublisherError, match="'intruder', not trusted"):
        check(trusted, "intruder")
    with pytest.raises(UntrustedPublisherError, match="no user_id"):
        check(trusted, None)
    with pytest.raises(UntrustedPublisherError):
        check(trusted, "")


def test_a_consumer_trusts_someone() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TrustedPublishers(["", ""])


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings


def test_the_relay_s_user_is_trusted_by_default() -> None:
    assert settings().trusted_publisher_users == {"guest"}  # `boundbox dev`: guest everywhere
    assert settings(amqp_url="amqp://shop:pw@mq/").trusted_publisher_users == {"shop"}
    relay_url = "amqp://re%2Flay:pw@mq/"  # percent-encoded, as in a URL
    found = settings(amqp_url="amqp://shop:pw@mq/", relay_amqp_url=relay_url)
    assert found.trusted_publisher_users == {"re/lay"}
    assert found.relay_broker_url == relay_url
    assert found.consumer_broker_url == "amqp://shop:pw@mq/"


def test_trusted_publishers_are_separated_by_commas_or_spaces() -> None:
    found = settings(trusted_publishers="relay-a, relay-b relay-c")
    assert found.trusted_publisher_users == {"relay-a", "relay-b", "relay-c"}


def test_a_url_without_a_user_logs_in_as_guest() -> None:
    assert broker_user("amqp://127.0.0.1:5672/") == "guest"
