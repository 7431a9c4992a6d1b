"""Prometheus metrics. Under gunicorn set PROMETHEUS_MULTIPROC_DIR so workers add up."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "endpoint", "method", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "endpoint"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed, by outcome", ["consumer", "outcome"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows acknowledged by the broker", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Relay batches the broker did not fully acknowledge", ["service"]
)

# Set by each consumer process (served on METRICS_PORT): how far behind the end of each partition it is.
CONSUMER_LAG = Gauge(
    "consumer_lag_messages", "Records on the partition not yet consumed", ["consumer", "topic", "partition"]
)
CONSUMER_LAST_BATCH = Gauge(
    "consumer_last_batch_timestamp_seconds", "When the consumer last finished a batch (Unix time)", ["consumer"]
)
CONSUMER_REJOINS = Counter(
    "consumer_rejoins_total", "Times a consumer left with no partitions rejoined its group", ["consumer"]
)


@dataclass(frozen=True)
class Reading:
    """One gauge value read from a service's database when Prometheus scrapes."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class DatabaseGauges:
    """Gauges read from the service's database at scrape time (outbox, dead letters, and
    whatever the service adds: notifications by status, overdue contributions)."""

    def __init__(self, service: str, readers: Iterable[Callable[[], Iterable[Reading]]]):
        self.service = service
        self.readers = list(readers)

    def collect(self):
        by_name: dict[str, list[Reading]] = defaultdict(list)
        for read in self.readers:
            for reading in read():
                by_name[reading.name].append(reading)
        for name, readings in by_name.items():
            label_names = ["service", *(label for label, _ in readings[0].labels)]
            family = GaugeMetricFamily(name, readings[0].help, labels=label_names)
            for reading in readings:
                family.add_metric([self.service, *(value for _, value in reading.labels)], reading.value)
            yield family


def serve(port: int | None, host: str = "0.0.0.0") -> None:
    """A worker process (consumer, relay, sender) answers /metrics on `port` when one is set."""
    if port:
        start_http_server(port, addr=host)


def exposition(service_gauges: DatabaseGauges | None, multiprocess_dir: os.PathLike | None = None) -> tuple[bytes, str]:
    """Under gunicorn (`multiprocess_dir`, from PROMETHEUS_MULTIPROC_DIR) every worker's metrics added up."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # the default process-local metrics
            registry.register(collector)
    if service_gauges is not None:
        registry.register(service_gauges)
    return generate_latest(registry), CONTENT_TYPE_LATEST
