"""The bare baseline for the Kafka intake benchmark: consume, produce each record to
another topic (acks=all), flush, commit the offsets; nothing else.

The clients come from shared.messaging.kafka.consumer / shared.messaging.kafka.producer, so they are
configured exactly as the intake consumer and relay are (group settings, poll size,
linger, one request in flight, acks=all).

    python -m bench.bare_kafka --bootstrap HOST:PORT --source IN --dest OUT --group G
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from kafka import OffsetAndMetadata

from shared.messaging import kafka


def run(bootstrap: str, source: str, dest: str, group: str, max_seconds: float, stop: threading.Event) -> int:
    consumer = kafka.consumer(bootstrap, group_id=group, topics=[source], max_poll_records=500)
    producer = kafka.producer(bootstrap)
    deadline = time.monotonic() + max_seconds
    moved = 0
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            records = consumer.poll(timeout_ms=500)
            if not records:
                continue
            for batch in records.values():
                for record in batch:
                    producer.send(dest, key=record.key, value=record.value, headers=record.headers)
            producer.flush(timeout=30)
            consumer.commit({tp: OffsetAndMetadata(batch[-1].offset + 1, "", -1) for tp, batch in records.items()})
            moved += sum(len(batch) for batch in records.values())
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_kafka")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    moved = run(args.bootstrap, args.source, args.dest, args.group, args.max_seconds, stop)
    print(f"moved {moved} records", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
