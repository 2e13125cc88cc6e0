"""What the outbox library raises when it is misused or cannot finish a transaction."""

from boundbox.errors import BoundboxError


class OutboxError(BoundboxError):
    """Base class of the outbox library's errors."""


class NotConfiguredError(OutboxError):
    """No MongoDB client was given to the library: call `outbox.use_client(client)` at start."""


class NoSessionError(OutboxError):
    """A session was needed, but none is bound to the current context."""


class NoTransactionError(OutboxError):
    """An event was recorded outside a transaction: it must share its state change's commit."""


class InvalidEventError(OutboxError, ValueError):
    """An event cannot be recorded as given (a payload that is not JSON, a bad name)."""


class TransactionFailedError(OutboxError):
    """A transaction kept failing transiently until its retry budget ran out."""
