"""How a service's long-running processes run: its consumer (with its scheduled tasks beside
it), its outbox relay, and scheduled tasks on their own.

Each service's `entrypoints/consumer.py` and `entrypoints/relay.py` start these with its own
`bootstrap()`; `outcomes consume|relay|send` only dispatch to those entrypoints.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable

from shared.infra import metrics
from shared.infra.logging import configure
from shared.infra.platform import Platform
from shared.infra.settings import Settings
from shared.messaging import kafka

log = logging.getLogger("outcomes")

Task = Callable[[], object]
Scheduled = Iterable[tuple[float, Task]]  # (every N seconds, task)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_every(interval: float, task: Task, stop: threading.Event) -> None:
    """A periodic task beside the consumer: run again at once while it finds work, else
    wait `interval`; a failure is logged and tried again next time."""
    while not stop.is_set():
        try:
            done = task()
        except Exception:
            log.exception("scheduled task failed", extra={"task": task.__name__})
            done = 0
        if not done:
            stop.wait(interval)


def consume(
    service: str,
    settings: Settings,
    bootstrap: Callable[[Settings], Platform],
    topics: list[str],
    scheduled: Callable[[Platform], Scheduled] = lambda _: [],
) -> int:
    """A service's idempotent consumer of `topics`, its scheduled tasks in threads beside it."""
    configure(service, settings.log_level)
    stop = stop_on_signals()
    if not topics:
        log.info("no inbound topics yet; idling", extra={"service": service})
        stop.wait()
        return 0
    from shared.messaging.consumer import ConsumerLoop

    platform = bootstrap(settings)

    def subscribe():
        return kafka.consumer(
            settings.kafka_bootstrap_servers,
            group_id=service,
            topics=topics,
            security=kafka.security(settings),
            max_poll_records=settings.consumer_max_poll_records,
        )

    client = subscribe()
    log.info("consuming", extra={"service": service, "topics": topics})
    metrics.serve(settings.metrics_port, settings.metrics_bind_host)
    for interval, task in scheduled(platform):
        threading.Thread(target=run_every, args=(interval, task, stop), name=task.__name__, daemon=True).start()
    ConsumerLoop(client, platform.processor, rejoin=subscribe, rejoin_after=settings.consumer_rejoin_after).run(stop)
    return 0


def run_scheduled(
    service: str,
    settings: Settings,
    bootstrap: Callable[[Settings], Platform],
    scheduled: Callable[[Platform], Scheduled],
    doing: str = "running scheduled tasks",
) -> int:
    """A service's scheduled tasks on their own, in this thread (the notifier's sender)."""
    configure(service, settings.log_level)
    platform = bootstrap(settings)
    stop = stop_on_signals()
    log.info(doing, extra={"service": service})
    metrics.serve(settings.metrics_port, settings.metrics_bind_host)
    for interval, task in scheduled(platform):
        run_every(interval, task, stop)
    return 0


def relay(service: str, settings: Settings, bootstrap: Callable[[Settings], Platform]) -> int:
    """A service's outbox relay: what its transactions stored, published in order."""
    from shared.messaging.outbox import OutboxRelay

    platform = bootstrap(settings)
    configure(service, settings.log_level)
    stop = stop_on_signals()
    producer = kafka.producer(settings.kafka_bootstrap_servers, security=kafka.security(settings))
    log.info("relaying outbox", extra={"service": service})
    metrics.serve(settings.metrics_port, settings.metrics_bind_host)
    try:
        OutboxRelay(platform.engine, producer, service=service, batch_size=settings.relay_batch_size).run(stop)
    finally:
        producer.close(timeout=5)
    return 0
