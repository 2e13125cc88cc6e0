"""Handlers registered by event type: `@handlers.on("order.placed", payload=OrderPlaced)`.

With a payload model, the consumer validates each message's payload before its handler runs:
one that does not validate is dead-lettered at once as `invalid-payload`, and the handler
reads the validated model with `delivery.payload(OrderPlaced)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ValidationError

from outbox.consumer.envelope import Delivery, summary
from outbox.consumer.errors import InvalidPayloadError

Handler = Callable[[Delivery], Awaitable[None]]
"""Applies one event inside the consumer's transaction; may raise PoisonMessageError."""


class Handlers:
    """Event type → handler; a consumer binds its queue to exactly these types by default."""

    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}
        self._payloads: dict[str, type[BaseModel]] = {}

    def on(
        self, event_type: str, *, payload: type[BaseModel] | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator: registers the function as the handler of `event_type`."""

        def register(handler: Handler) -> Handler:
            self.add(event_type, handler, payload=payload)
            return handler

        return register

    def add(
        self, event_type: str, handler: Handler, *, payload: type[BaseModel] | None = None
    ) -> None:
        if event_type in self._by_type:
            raise ValueError(f"a handler of {event_type!r} is already registered")
        self._by_type[event_type] = handler
        if payload is not None:
            self._payloads[event_type] = payload

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    def validate(self, delivery: Delivery) -> Delivery:
        """`delivery` with its payload validated by its type's model; InvalidPayloadError."""
        model = self._payloads.get(delivery.type)
        if model is None:
            return delivery
        try:
            validated = model.model_validate(delivery.event.payload)
        except ValidationError as e:
            raise InvalidPayloadError(f"{delivery.type} payload: {summary(e)}") from e
        return dataclasses.replace(delivery, validated=validated)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_type))
