"""What the consumer toolkit raises; handlers raise PoisonMessageError for hopeless messages."""

from outbox.errors import OutboxError


class ConsumerError(OutboxError):
    """Base class of the consumer toolkit's errors."""


class PoisonMessageError(ConsumerError):
    """The message can never be handled (not JSON, missing fields): dead-letter it at once."""
