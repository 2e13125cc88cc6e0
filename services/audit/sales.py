"""The sales projection against the figures its order events imply.

The expectation is computed with the projection's own arithmetic (services.sales.projection)
from every `order.*` event in the event store, published or not: a projection that has caught
up holds exactly these figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from services.audit.report import AuditReport, Mismatch
from services.contracts import OrderCancelledPayload, OrderPlacedPayload
from services.domain.history import RecordedEvent
from services.sales import projection

PRODUCT_FIELDS = ("units_sold", "revenue_cents")
CUSTOMER_FIELDS = ("orders", "placed", "cancelled", "spent_cents")

Figures = dict[str, dict[str, int]]
"""Key (product id or customer) → field → value."""


class ExpectedSales:
    """Fed every order's events (an audit event sink); holds the figures they add up to."""

    def __init__(self) -> None:
        self.products: Figures = {}
        self.customers: Figures = {}

    def __call__(self, aggregate_type: str, events: list[RecordedEvent]) -> None:
        if aggregate_type != "order":
            return
        for event in events:
            try:
                if event.type == "order.placed":
                    change = projection.placed(OrderPlacedPayload.model_validate(event.payload))
                elif event.type == "order.cancelled":
                    payload = OrderCancelledPayload.model_validate(event.payload)
                    change = projection.cancelled(payload)
                else:
                    continue
            except ValidationError:
                continue  # the order's own check reports a payload its contract refuses
            for product in change.products:
                revenue = projection.to_cents(product.revenue)
                _add(self.products, product.product_id, PRODUCT_FIELDS, (product.units, revenue))
            customer = change.customer
            values = (customer.orders, customer.placed, customer.cancelled)
            spent = projection.to_cents(customer.spent)
            _add(self.customers, customer.customer, CUSTOMER_FIELDS, (*values, spent))


def _add(figures: Figures, key: str, names: tuple[str, ...], deltas: tuple[int, ...]) -> None:
    row = figures.setdefault(key, {})
    for name, delta in zip(names, deltas, strict=True):
        row[name] = row.get(name, 0) + delta


def check_sales(
    report: AuditReport,
    expected: ExpectedSales,
    *,
    products: Mapping[str, Mapping[str, int]],
    customers: Mapping[str, Mapping[str, int]],
) -> None:
    """Compares the stored figures (as read from the projection) with the expected ones."""
    for kind, fields, ours, theirs in (
        ("sales product", PRODUCT_FIELDS, products, expected.products),
        ("sales customer", CUSTOMER_FIELDS, customers, expected.customers),
    ):
        for key in sorted(ours.keys() | theirs.keys()):
            report.checked[f"{kind}s"] += 1
            stored, derived = ours.get(key, {}), theirs.get(key, {})
            for name in fields:
                if stored.get(name, 0) != derived.get(name, 0):
                    mismatch = Mismatch(f"{kind} {key}", name, stored.get(name), derived.get(name))
                    report.mismatches.append(mismatch)
