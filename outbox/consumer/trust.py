"""Who may publish the events a consumer applies: the broker users it trusts.

RabbitMQ refuses a publish whose AMQP `user_id` property is not the user of the publishing
connection (the channel closes with PRECONDITION_FAILED), so a `user_id` is a claim nobody can
forge. The relay sets it on every message; a consumer applies a message only when that user is
one it trusts, and dead-letters any other (`untrusted-publisher`), one without a `user_id`
included: anyone allowed to write to the exchange could have sent it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from outbox.consumer.errors import PoisonMessageError


class UntrustedPublisherError(PoisonMessageError):
    """The message was not published by a trusted broker user: it is never applied."""


@dataclass(frozen=True, slots=True)
class TrustedPublishers:
    """The broker users whose messages are applied; at least one."""

    users: frozenset[str]

    def __init__(self, users: Iterable[str]) -> None:
        names = frozenset(user for user in users if user)
        if not names:
            raise ValueError("a consumer must trust at least one publisher")
        object.__setattr__(self, "users", names)

    def check(self, message: AbstractIncomingMessage) -> None:
        """Raises UntrustedPublisherError unless a trusted user published `message`."""
        user = message.user_id
        if not user:
            raise UntrustedPublisherError("the message has no user_id: its publisher is unknown")
        if user not in self.users:
            raise UntrustedPublisherError(f"published by broker user {user!r}, not trusted")
