"""What the consumer toolkit raises; handlers raise PoisonMessageError for hopeless messages."""

from outbox.errors import OutboxError


class ConsumerError(OutboxError):
    """Base class of the consumer toolkit's errors."""


class NotYetError(ConsumerError):
    """The message cannot be applied yet (an earlier one is missing): requeued, no traceback."""


class PoisonMessageError(ConsumerError):
    """The message can never be handled (not JSON, missing fields): dead-letter it at once."""


class TooLargeError(PoisonMessageError):
    """The body is over the consumer's size limit: it is never decoded."""


class InvalidPayloadError(PoisonMessageError):
    """The envelope or payload does not fit its event type (routing key, payload model)."""


class ConflictingDuplicateError(PoisonMessageError):
    """A message id already in the inbox came again with another body."""
