"""State is a fold of events: after any sequence of commands, every aggregate equals
`fold(apply, its events)`, and its version is the number of its events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.domain.aggregate import Aggregate, DomainEvent
from services.domain.catalog import STOCK_MAX, Category, Product
from services.domain.errors import DomainError
from services.domain.history import HistoryError, RecordedEvent, fold
from services.domain.orders import Order, OrderStatus

START = datetime(2026, 12, 1, tzinfo=UTC)


class World:
    """The aggregates commands changed, and the events recorded for each, numbered 1..n."""

    def __init__(self) -> None:
        self.aggregates: dict[tuple[str, str], Aggregate] = {}
        self.events: dict[tuple[str, str], list[RecordedEvent]] = {}
        self.now = START

    def record(self, *events: DomainEvent | None) -> None:
        for event in events:
            if event is None:
                continue
            stream = self.events.setdefault((event.aggregate_type, event.aggregate_id), [])
            stream.append(
                RecordedEvent(
                    type=f"{event.aggregate_type}.{event.name}",
                    aggregate_id=event.aggregate_id,
                    version=len(stream) + 1,
                    occurred_at=self.now,
                    payload=event.payload(),
                )
            )

    def keep(self, aggregate: Aggregate) -> None:
        self.aggregates[(aggregate.kind, aggregate.id)] = aggregate

    def of(self, kind: str) -> list[Aggregate]:
        return [a for (k, _), a in sorted(self.aggregates.items()) if k == kind]


def run(world: World, command: tuple[str, int, int, int]) -> None:
    """One command, chosen and parameterised by numbers; refused commands record nothing."""
    name, a, b, c = command
    world.now += timedelta(milliseconds=1 + a)
    products, orders = world.of("product"), world.of("order")
    if name == "category" or not world.of("category"):
        category, created = Category.create(
            id=f"c{len(world.aggregates)}", name="C", description=""
        )
        world.keep(category)
        world.record(created)
    elif name == "product":
        product, created = Product.create(
            id=f"p{len(world.aggregates)}",
            name=f"P{a}",
            price=Decimal(a % 5000 + 1) / 100,
            category_id=world.of("category")[0].id,
            stock=b % 50,
        )
        world.keep(product)
        world.record(created)
    elif name == "reprice" and products:
        product = products[a % len(products)]
        assert isinstance(product, Product)
        world.record(product.change_price(Decimal(b % 20 + 1)))
    elif name == "restock" and products:
        product = products[a % len(products)]
        assert isinstance(product, Product)
        room = STOCK_MAX - product.stock
        quantity = room if c % 3 == 0 else min(room, b % 40 + 1)  # sometimes up to the cap
        if quantity >= 1:
            world.record(product.restock(quantity))
    elif name == "place" and products:
        lines = [(products[(a + i * b) % len(products)], i % 3 + 1) for i in range(c % 4 + 1)]
        try:
            order, placed, reserved = Order.place(
                id=f"o{len(world.aggregates)}", customer=f"u{a % 3}", items=lines, now=world.now
            )
        except DomainError:
            return
        world.keep(order)
        world.record(placed, *reserved)
    elif name == "cancel" and orders:
        order = orders[a % len(orders)]
        assert isinstance(order, Order)
        if order.status is OrderStatus.CANCELLED:
            return
        cancelled = order.cancel(now=world.now)
        releases = []
        for product_id, quantity in order.returned_units().items():
            product = world.aggregates[("product", product_id)]
            assert isinstance(product, Product)
            releases.append(product.release(quantity, order_id=order.id))
        world.record(cancelled, *releases)


commands = st.lists(
    st.tuples(
        st.sampled_from(["category", "product", "reprice", "restock", "place", "cancel"]),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(commands)
@example(  # a cancel after a restock to the cap: the release is capped
    [
        ("category", 0, 0, 0),
        ("product", 0, 9, 0),
        ("place", 0, 0, 0),
        ("restock", 0, 0, 3),
        ("cancel", 0, 0, 0),
    ]
)
def test_every_aggregate_is_the_fold_of_its_events(
    sequence: list[tuple[str, int, int, int]],
) -> None:
    world = World()
    for command in sequence:
        run(world, command)

    for (kind, aggregate_id), aggregate in world.aggregates.items():
        events = world.events[(kind, aggregate_id)]
        assert aggregate.version == len(events)
        assert fold(kind, events) == aggregate


def history() -> list[RecordedEvent]:
    world = World()
    for command in [("category", 0, 0, 0), ("product", 1, 10, 0), ("restock", 0, 4, 1)]:
        run(world, command)
    return world.events[("product", world.of("product")[0].id)]


def test_a_gap_in_the_versions_is_not_a_history() -> None:
    created, restocked = history()
    with pytest.raises(HistoryError, match="version 3 follows 1"):
        fold("product", [created, replace(restocked, version=3)])


def test_a_duplicated_event_is_not_a_history() -> None:
    created, restocked = history()
    with pytest.raises(HistoryError, match="version 2 follows 2"):
        fold("product", [created, restocked, restocked])


def test_a_history_starts_with_the_creation() -> None:
    _, restocked = history()
    with pytest.raises(HistoryError, match=r"before product\.created"):
        fold("product", [restocked])


def test_a_payload_its_contract_refuses_is_not_a_history() -> None:
    created, restocked = history()
    with pytest.raises(HistoryError, match="does not match its contract"):
        fold("product", [created, replace(restocked, payload={"quantity": "many"})])
