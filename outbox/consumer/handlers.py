"""Handlers registered by event type: `@handlers.on("order.placed")`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.consumer.envelope import Delivery

Handler = Callable[[Delivery], Awaitable[None]]
"""Applies one event inside the consumer's transaction; may raise PoisonMessageError."""


class Handlers:
    """Event type → handler; a consumer binds its queue to exactly these types by default."""

    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: registers the function as the handler of `event_type`."""

        def register(handler: Handler) -> Handler:
            self.add(event_type, handler)
            return handler

        return register

    def add(self, event_type: str, handler: Handler) -> None:
        if event_type in self._by_type:
            raise ValueError(f"a handler of {event_type!r} is already registered")
        self._by_type[event_type] = handler

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_type))
