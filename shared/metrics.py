"""Prometheus metrics. Under gunicorn set PROMETHEUS_MULTIPROC_DIR so workers add up."""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "endpoint", "method", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "endpoint"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed, by outcome", ["consumer", "outcome"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows acknowledged by the broker", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Relay batches the broker did not fully acknowledge", ["service"]
)


class DatabaseGauges:
    """Gauges read from the service's database at scrape time (the outbox, dead letters)."""

    def __init__(self, service: str, read: Callable[[], dict[str, float]]):
        self.service = service
        self.read = read

    def collect(self):
        for name, value in self.read().items():
            family = GaugeMetricFamily(name, name.replace("_", " "), labels=["service"])
            family.add_metric([self.service], value)
            yield family


def exposition(service_gauges: DatabaseGauges | None) -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # the default process-local metrics
            registry.register(collector)
    if service_gauges is not None:
        registry.register(service_gauges)
    return generate_latest(registry), CONTENT_TYPE_LATEST
