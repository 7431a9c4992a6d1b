"""Kafka helpers for benchmarks: preload a topic, watch a topic fill, read it back."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.harness import BenchmarkFailed, Proc, Processes


def preload(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes, bytes]],
    headers: list | None = None,
    *,
    on_first_send: Callable[[], None] | None = None,
) -> float:
    """Produce every (key, value) with acks=all; returns the seconds it took. The producer
    has the topic's metadata before the first send; `on_first_send` is called just before it
    (to start a clock when the records are consumed while they are being produced)."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
        max_in_flight_requests_per_connection=5,
        request_timeout_ms=30_000,
    )
    started = time.monotonic()
    try:
        producer.partitions_for(topic)
        started = time.monotonic()
        if on_first_send is not None:
            on_first_send()
        futures = [producer.send(topic, key=key, value=value, headers=headers or []) for key, value in records]
        producer.flush(timeout=300)
        failed = [f for f in futures if not (f.is_done and f.succeeded())]
        if failed:
            raise BenchmarkFailed(f"{len(failed)} of {len(records)} preloaded records were not acknowledged")
    finally:
        producer.close(timeout=10)
    return time.monotonic() - started


def _partitions(consumer: KafkaConsumer, topic: str, timeout: float = 15.0) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        time.sleep(0.2)
    raise BenchmarkFailed(f"topic {topic} has no partitions")


@dataclass
class Timeline:
    """When the watched topics reached which size, seconds after `started`."""

    target: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    reached_at: float | None = None
    final_count: int | None = None  # after the processes stopped

    @property
    def first_output(self) -> tuple[float, int] | None:
        return next(((t, n) for t, n in self.samples if n > 0), None)

    def steady_rate(self) -> float | None:
        """Events per second from the first output seen to the target: startup, group join
        and the first batch's pipeline fill are outside the window."""
        first = self.first_output
        if first is None or self.reached_at is None or self.reached_at <= first[0]:
            return None
        return (self.target - first[1]) / (self.reached_at - first[0])

    def end_to_end_rate(self) -> float | None:
        return self.target / self.reached_at if self.reached_at else None


class OffsetWatcher:
    """Counts the records on a topic cheaply: per poll, one ListOffsets request, and for a
    partition whose end moved, a fetch of its last batch only.

    Why not end offsets alone: Tansu (0.6) answers ListOffsets(latest) with the *base*
    offset of the partition's last batch + 1, not the offset after its last record, so
    the sum of end offsets undercounts by up to a batch per partition. Fetching from
    `end - 1` returns that batch (on Apache Kafka, the last record), whose last offset + 1
    is the true count. Topics here are plain (no compaction, no transactions), so offsets
    are counts."""

    def __init__(self, bootstrap: str, topic: str, *, also: tuple[str, ...] = ()):
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=100_000, check_crcs=False
        )
        self.partitions = _partitions(self.consumer, topic)
        self.also = {t: _partitions(self.consumer, t) for t in also}
        self.consumer.assign(self.partitions + [tp for tps in self.also.values() for tp in tps])
        self._known: dict[TopicPartition, int] = {}  # true record count seen so far
        self._fetched_for: dict[TopicPartition, int] = {}  # the end offset whose batch we read

    def count(self, partitions: list[TopicPartition] | None = None) -> int:
        partitions = partitions or self.partitions
        ends = self.consumer.end_offsets(partitions)
        pending = set()
        for tp, end in ends.items():
            self._known[tp] = max(self._known.get(tp, 0), end)
            if end > 0 and self._fetched_for.get(tp) != end:
                self.consumer.seek(tp, end - 1)
                pending.add(tp)
        if pending:
            self.consumer.resume(*pending)
            self.consumer.pause(*(set(self.consumer.assignment()) - pending))
            deadline = time.monotonic() + 2.0
            while pending and time.monotonic() < deadline:
                for tp, batch in self.consumer.poll(timeout_ms=100).items():
                    if tp in pending and batch:
                        self._known[tp] = max(self._known[tp], batch[-1].offset + 1)
                        self._fetched_for[tp] = ends[tp]
                        pending.discard(tp)
        return sum(self._known.get(tp, 0) for tp in partitions)

    def count_of(self, topic: str) -> int:
        return self.count(self.also[topic])

    def wait_for(
        self,
        target: int,
        started: float,
        *,
        timeout: float,
        processes: Processes,
        procs: tuple[Proc, ...],
        interval: float = 0.02,
        fail_if: dict[str, int] | None = None,
        on_first_output: Callable[[], None] | None = None,
    ) -> Timeline:
        """Poll until `target` records are on the topic; fail if a process dies, the
        timeout passes, or a topic in `fail_if` grows past its limit (e.g. a DLQ).
        `on_first_output` is called as soon as the first record is seen."""
        timeline = Timeline(target)
        deadline = started + timeout
        polls = 0
        while True:
            count = self.count()
            now = time.monotonic() - started
            timeline.samples.append((round(now, 4), count))
            if count and on_first_output is not None:
                on_first_output()
                on_first_output = None
            if count >= target:
                timeline.reached_at = now
                return timeline
            polls += 1
            if polls % 25 == 0:
                processes.check(*procs)
                for topic, limit in (fail_if or {}).items():
                    if self.count_of(topic) > limit:
                        raise BenchmarkFailed(f"{self.count_of(topic)} records reached {topic} (events refused)")
            if time.monotonic() > deadline:
                raise BenchmarkFailed(f"only {count} of {target} records after {timeout:.0f} s")
            time.sleep(interval)

    def close(self) -> None:
        self.consumer.close()


def read_types(bootstrap: str, topic: str, timeout: float = 120.0) -> Counter:
    """Every record on the topic, counted by CloudEvents `type` (or '<not json>')."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000)
    try:
        partitions = _partitions(consumer, topic)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        types: Counter = Counter()
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise BenchmarkFailed(f"could not read {topic} back within {timeout:.0f} s")
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    try:
                        types[json.loads(record.value).get("type", "<no type>")] += 1
                    except (ValueError, AttributeError):
                        types["<not json>"] += 1
        return types
    finally:
        consumer.close()


class RecordCounter:
    """Counts the records on a topic by reading them: one consumer assigned to every
    partition from the start, no group, matching each record's value against byte
    strings (e.g. the CloudEvents type and a marker unique to one run).

    It reads the records themselves rather than trusting end offsets: Tansu reports a
    partition's end as its last batch's base offset + 1 (see OffsetWatcher), so end
    offsets lag by up to a batch per partition. A fetch waits at most `fetch_wait_ms`
    on the broker, so a record is seen within about that long of being stored."""

    def __init__(self, bootstrap: str, topic: str, *, fetch_wait_ms: int = 20):
        self.topic = topic
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=fetch_wait_ms,
            max_poll_records=10_000,
            check_crcs=False,
        )
        self.partitions = _partitions(self.consumer, topic)
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.skipped = 0

    def skip_existing(self, *, quiet_s: float = 0.3, timeout: float = 60.0) -> int:
        """Read past what is on the topic now (until nothing arrives for `quiet_s`)."""
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        skipped = 0
        while time.monotonic() - quiet_since < quiet_s:
            if time.monotonic() > deadline:
                raise BenchmarkFailed(f"{self.topic} kept growing for {timeout:.0f} s before the run")
            got = sum(len(batch) for batch in self.consumer.poll(timeout_ms=50).values())
            if got:
                skipped += got
                quiet_since = time.monotonic()
        self.skipped += skipped
        return skipped

    def wait_for(
        self,
        target: int,
        started: float,
        *,
        matching: tuple[bytes, ...],
        timeout: float,
        processes: Processes,
        procs: tuple[Proc, ...],
        linger: float = 0.0,
        collect: list | None = None,
    ) -> Timeline:
        """Read until `target` records whose value holds every one of `matching` have been
        seen; seconds are counted from `started` (a time.monotonic()). Then go on reading
        for `linger` seconds, so duplicates would show in `final_count`. Matching records'
        (key, value) are appended to `collect` if given."""
        timeline = Timeline(target)
        count = 0
        deadline = started + timeout
        checked = time.monotonic()
        linger_until = None
        while True:
            batches = self.consumer.poll(timeout_ms=20)
            seen = time.monotonic()
            new = 0
            for batch in batches.values():
                for record in batch:
                    if all(m in record.value for m in matching):
                        new += 1
                        if collect is not None:
                            collect.append((record.key, record.value))
            if new:
                count += new
                timeline.samples.append((round(seen - started, 4), count))
            if timeline.reached_at is None and count >= target:
                timeline.reached_at = seen - started
                linger_until = seen + linger
            if linger_until is not None and seen >= linger_until:
                timeline.final_count = count
                return timeline
            if seen - checked > 0.5:
                processes.check(*procs)
                checked = seen
            if seen > deadline:
                raise BenchmarkFailed(f"only {count} of {target} records on {self.topic} after {timeout:.0f} s")

    def close(self) -> None:
        self.consumer.close()
