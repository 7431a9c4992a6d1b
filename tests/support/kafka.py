"""A real Tansu broker per test, and ways to read what landed on a topic."""

from __future__ import annotations

import json
import signal
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ops.broker import start_tansu
from shared.messaging import events, kafka
from tests.support.ports import free_port


class Broker:
    def __init__(self, *, with_topics: bool = True):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process = start_tansu("127.0.0.1", self.port)
        if with_topics:
            kafka.create_topics(self.bootstrap)

    def restart_empty(self) -> None:
        """Kill the broker and start a new one on the same port, with fresh topics and
        nothing else: what `make run`'s in-memory broker does when it restarts."""
        self.stop()
        self.process = start_tansu("127.0.0.1", self.port)
        kafka.create_topics(self.bootstrap)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.kill()
        self.process.wait()

    def produce(self, topic: str, values: list[bytes | dict], key: bytes | None = None) -> dict[TopicPartition, int]:
        """Publish the values; return the offset just past the last one written, per partition
        (Tansu's ListOffsets does not report it)."""
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        sent = []
        for value in values:
            payload = events.dumps(value) if isinstance(value, dict) else value
            sent.append(producer.send(topic, key=key, value=payload, headers=events.KAFKA_HEADERS))
        producer.flush(10)
        producer.close()
        ends: dict[TopicPartition, int] = {}
        for future in sent:
            written = future.get(timeout=0)
            tp = TopicPartition(topic, written.partition)
            ends[tp] = max(ends.get(tp, 0), written.offset + 1)
        return ends

    def records(self, topic: str) -> list:
        """Every record on the topic now, read from the beginning without a group."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, consumer_timeout_ms=500)
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        found = []
        deadline = time.monotonic() + 10
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                found.extend(batch)
        consumer.close()
        return found

    def events(self, topic: str) -> list[dict]:
        return [json.loads(record.value) for record in self.records(topic)]

    def wait_for_events(self, topic: str, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(topic)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
