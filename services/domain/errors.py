"""What the domain refuses, and why; the API maps each to an HTTP status in one place."""

from __future__ import annotations

from boundbox.errors import BoundboxError

FieldPath = tuple[str | int, ...]


class DomainError(BoundboxError):
    """Base class of the rules a command can break."""


class NotFoundError(DomainError):
    """The aggregate named by a command or a query does not exist."""

    def __init__(self, kind: str, aggregate_id: str) -> None:
        super().__init__(f"{kind} {aggregate_id!r} not found")
        self.kind = kind
        self.aggregate_id = aggregate_id


class InvalidValueError(DomainError, ValueError):
    """A field of a command breaks a rule of the domain."""

    def __init__(self, field: FieldPath, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class UnknownReferenceError(InvalidValueError):
    """A command refers to another aggregate that does not exist."""

    def __init__(self, field: FieldPath, kind: str, aggregate_id: str) -> None:
        super().__init__(field, f"{kind} {aggregate_id!r} does not exist")
        self.kind = kind
        self.aggregate_id = aggregate_id


class InsufficientStockError(DomainError):
    """An order line asks for more units than the product has in stock."""

    def __init__(self, *, product_id: str, product_name: str, requested: int, available: int):
        super().__init__(
            f"not enough stock of product {product_name!r} ({product_id}): "
            f"{requested} requested, {available} available"
        )
        self.product_id = product_id
        self.product_name = product_name
        self.requested = requested
        self.available = available


class InvalidStateError(DomainError):
    """The command does not apply to the aggregate in its current state."""


class StaleVersionError(DomainError):
    """The caller decided on a version of the aggregate that is no longer current."""

    def __init__(self, kind: str, aggregate_id: str, current: int) -> None:
        super().__init__(f"{kind} {aggregate_id!r} is at version {current}")
        self.current = current


class ConcurrentUpdateError(DomainError):
    """Another command changed the aggregate between this command's read and its write."""
