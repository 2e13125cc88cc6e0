"""What the relay raises; driver errors are translated into these at the adapters."""

from boundbox.errors import BoundboxError


class RelayError(BoundboxError):
    """Base class of the relay's errors."""


class RelayStartError(RelayError):
    """The relay cannot start as configured (its HTTP port cannot be bound)."""


class DatabaseUnavailableError(RelayError):
    """MongoDB could not be reached, or failed a command for a reason worth retrying."""


class BrokerUnavailableError(RelayError):
    """RabbitMQ could not be reached or dropped the connection: nothing is wrong with the event."""


class PublishRefusedError(RelayError):
    """The broker refused one message: returned as unroutable, or negatively acknowledged."""


class UnpublishableEventError(RelayError):
    """An outbox document cannot become a message: it is not a valid event, or not JSON."""
