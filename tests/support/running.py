"""Running a service's consumer loop and outbox relay against a real broker, in threads."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

from shared.infra.platform import Platform
from shared.messaging import kafka
from shared.messaging.consumer import ConsumerLoop
from shared.messaging.outbox import OutboxRelay


class Worker:
    """One loop in a thread; `crashed` holds what killed it, if anything did."""

    def __init__(self, name: str, run):
        self.stop = threading.Event()
        self.crashed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(run,), name=name, daemon=True)
        self.thread.start()

    def _run(self, run) -> None:
        try:
            run(self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.crashed = exc

    def join(self, timeout: float = 30) -> None:
        self.stop.set()
        self.thread.join(timeout)


def start_consumer(platform: Platform, bootstrap: str, topics: list[str], *, group: str, kafka_client=None) -> Worker:
    client = kafka_client or kafka.consumer(bootstrap, group_id=group, topics=topics)
    return Worker(f"consumer-{group}", ConsumerLoop(client, platform.processor, poll_timeout_ms=200).run)


def start_relay(platform: Platform, bootstrap: str) -> Worker:
    producer = kafka.producer(bootstrap, request_timeout_ms=3_000, delivery_timeout_ms=6_000, max_block_ms=3_000)
    relay = OutboxRelay(platform.engine, producer, service=platform.service, send_timeout=8)

    def run(stop):
        try:
            relay.run(stop)
        finally:
            producer.close(timeout=2)

    return Worker("relay", run)


@contextmanager
def running(platform: Platform, bootstrap: str, topics: list[str]):
    """The service's consumer and relay, stopped when the block ends."""
    group = f"{platform.service}-{uuid.uuid4().hex[:6]}"
    workers = [start_consumer(platform, bootstrap, topics, group=group), start_relay(platform, bootstrap)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.join()
        for worker in workers:
            assert worker.crashed is None, f"{worker.thread.name} crashed: {worker.crashed!r}"
