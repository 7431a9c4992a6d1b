"""The bare baseline for the notifier fan-out benchmark: one smtplib connection sending
prebuilt messages to the SMTP sink as fast as it can, nothing else.

Like the notifier's SmtpEmail provider it keeps one connection open and calls
`send_message` for each message, so each message is flattened to bytes on the way out,
as the provider's are. The messages are the ones the notifier sent in the same run
(read back from the sink and parsed into `EmailMessage` objects before the clock
starts): same headers, same text and HTML parts, same size. The process loads them,
connects, sends a few warm-up messages, says READY and waits for SIGUSR1; after sending
it stays up until SIGTERM, so its peak memory can be read.

    python -m bench.bare_smtp --host H --port P --messages FILE.pickle
"""

from __future__ import annotations

import argparse
import email
import email.policy
import pickle
import signal
import smtplib
import sys
import threading
import time
from pathlib import Path

WARM_UP_MESSAGES = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_smtp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--messages", required=True, type=Path, help="a pickled list of raw RFC 5322 messages (bytes)")
    parser.add_argument("--max-wait", type=float, default=600.0, help="seconds to wait for SIGUSR1")
    args = parser.parse_args(argv)
    messages = [
        email.message_from_bytes(raw, policy=email.policy.default) for raw in pickle.loads(args.messages.read_bytes())
    ]
    go, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    connection = smtplib.SMTP(args.host, args.port, timeout=10)
    try:
        for warm in messages[:WARM_UP_MESSAGES]:
            connection.send_message(warm)
        print("READY", flush=True)
        if not go.wait(args.max_wait):
            print("no SIGUSR1: giving up", flush=True)
            return 1
        started = time.monotonic()
        refused = 0
        for message in messages:
            refused += bool(connection.send_message(message))
        took = time.monotonic() - started
        print(f"SENT {len(messages) - refused} of {len(messages)} in {took:.3f} s", flush=True)
        stop.wait(args.max_wait)  # stay up until stopped, so the benchmark can read its peak memory
        return 1 if refused else 0
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


if __name__ == "__main__":
    sys.exit(main())
