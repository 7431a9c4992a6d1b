"""The bare baseline for the decisions fan-out benchmark: one kafka-python producer sending
prepared records (acks=all) to a topic as fast as it can, nothing else.

The producer comes from shared.messaging.kafka.producer, so it is configured exactly as the outbox
relay's is (acks=all, linger, one request in flight, retries). The process loads the
records, connects, fetches the topic's metadata and sends a few warm-up records (which the
benchmark's counter does not match), says READY, and waits for SIGUSR1: the time it takes
to start is outside the measurement, as the relay's is. After sending it stays up until
SIGTERM, so its peak memory can be read.

    python -m bench.bare_produce --bootstrap HOST:PORT --topic T --records FILE.pickle
"""

from __future__ import annotations

import argparse
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

from shared.messaging import kafka
from shared.messaging.events import KAFKA_HEADERS

WARM_UP_RECORDS = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_produce")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", required=True, type=Path, help="a pickled list of (key, value) bytes pairs")
    parser.add_argument("--max-wait", type=float, default=600.0, help="seconds to wait for SIGUSR1")
    args = parser.parse_args(argv)
    records = pickle.loads(args.records.read_bytes())
    go, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    producer = kafka.producer(args.bootstrap)
    try:
        producer.partitions_for(args.topic)
        for number in range(WARM_UP_RECORDS):
            producer.send(args.topic, key=b"warm-up", value=b"warm-up %d" % number, headers=KAFKA_HEADERS)
        producer.flush(timeout=30)
        print("READY", flush=True)
        if not go.wait(args.max_wait):
            print("no SIGUSR1: giving up", flush=True)
            return 1
        started = time.monotonic()
        futures = [producer.send(args.topic, key=k, value=v, headers=KAFKA_HEADERS) for k, v in records]
        producer.flush(timeout=120)
        took = time.monotonic() - started
        failed = sum(1 for f in futures if not (f.is_done and f.succeeded()))
        print(f"SENT {len(records) - failed} of {len(records)} in {took:.3f} s", flush=True)
        stop.wait(args.max_wait)  # stay up until stopped, so the benchmark can read its peak memory
        return 1 if failed else 0
    finally:
        producer.close(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
