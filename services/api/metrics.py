"""Prometheus metrics of the API: requests by route template, and the outbox backlog.

Each app has its own registry, so several apps (tests) never share or clash over series.
"""

from __future__ import annotations

import math
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pymongo.errors import ConnectionFailure
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbox import utc_now
from services.api.database import Database
from services.store import outbox as outbox_store

UNMATCHED = "<unmatched>"  # one label for every unknown path: bounded cardinality
# Any other method is labelled OTHER: a client inventing methods must not grow /metrics.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "OTHER"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "boundbox_api_requests",
            "HTTP requests answered, by route template and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "boundbox_api_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.pending = Gauge(
            "boundbox_outbox_pending_events",
            "Events recorded but not yet published (NaN when MongoDB is unreachable).",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "boundbox_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished event; 0 when none is pending.",
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    async def render(self, database: Database) -> bytes:
        """The exposition text, with the outbox gauges computed now, at scrape time."""
        await self._measure_outbox(database)
        return generate_latest(self.registry)

    async def _measure_outbox(self, database: Database) -> None:
        count: float = math.nan
        age: float = math.nan
        if database.ready:
            try:
                pending, oldest = await outbox_store.pending_summary()
            except ConnectionFailure:
                pass
            else:
                count = pending
                age = (utc_now() - oldest).total_seconds() if oldest is not None else 0.0
        self.pending.set(count)
        self.oldest_pending_age.set(max(age, 0.0) if not math.isnan(age) else age)


class MetricsMiddleware:
    """Counts and times every request under its route template (`/products/{product_id}`)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER
            self.metrics.observe(method, route, status, time.perf_counter() - started)
