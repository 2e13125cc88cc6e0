"""The relay's Prometheus metrics, in a registry of its own (several relays can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.published = Counter(
            "boundbox_relay_published",
            "Events published and confirmed by the broker.",
            registry=self.registry,
        )
        self.failures = Counter(
            "boundbox_relay_publish_failures",
            "Failed publication attempts, by reason (refused, unpublishable, broker).",
            ["reason"],
            registry=self.registry,
        )
        self.parked = Counter(
            "boundbox_relay_parked",
            "Events set aside as failed after their last attempt.",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "boundbox_relay_batch_seconds",
            "Time to publish a batch and mark it published.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "boundbox_relay_outbox_lag_seconds",
            "Age of the oldest pending event in the outbox (0 when none).",
            registry=self.registry,
        )
        self.leases_held = Gauge(
            "boundbox_relay_leases_held",
            "Outbox partitions this relay holds.",
            registry=self.registry,
        )
        self.up = Gauge(
            "boundbox_relay_dependency_up",
            "1 while the dependency answers, 0 while it is down.",
            ["dependency"],
            registry=self.registry,
        )

    def set_up(self, dependency: str, is_up: bool) -> None:
        self.up.labels(dependency=dependency).set(1 if is_up else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
