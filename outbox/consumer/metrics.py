"""Prometheus metrics of one consumer, in a registry of its own (tests run several at once)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ConsumerMetrics:
    """Counters by outcome, the handler latency, and whether the broker connection is up."""

    def __init__(self, consumer: str) -> None:
        self.registry = CollectorRegistry()
        self.consumer = consumer

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, ["consumer", *labels], registry=self.registry)

        self.processed = counter(
            "boundbox_consumer_processed", "Messages applied and acknowledged.", ("type",)
        )
        self.duplicates = counter(
            "boundbox_consumer_duplicates", "Redeliveries found in the inbox and acknowledged."
        )
        self.skipped = counter(
            "boundbox_consumer_skipped", "Messages of a type without handler, acknowledged."
        )
        self.dead_lettered = counter(
            "boundbox_consumer_dead_lettered",
            "Messages sent to the dead-letter queue, by reason.",
            ("reason",),
        )
        self.failures = counter(
            "boundbox_consumer_failures",
            "Failed handling attempts, by kind (failure, outage, poison).",
            ("kind",),
        )
        self.latency = Histogram(
            "boundbox_consumer_handler_duration_seconds",
            "Time to apply a message: inbox check, handler and commit.",
            ["consumer", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.connected = Gauge(
            "boundbox_consumer_broker_connected",
            "1 while the connection to RabbitMQ is up.",
            ["consumer"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
