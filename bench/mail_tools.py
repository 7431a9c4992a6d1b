"""The SMTP sink's directory for benchmarks: what it holds, and when each message came.

`ops/smtp_sink.py` (aiosmtpd) writes every message it accepts as one file named
`<time.time_ns()>-<8 hex>.eml` (through a `.tmp` name and a rename) *before* it answers
250. So a file's name says when the sink accepted that message, on the machine's wall
clock, which is the clock the harness reads with `time.time_ns()`: arrival times come from
the names, to the microsecond, however seldom the directory is listed. Listing it every
quarter of a second therefore costs little CPU and loses no precision.
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import BenchmarkFailed, Proc, Processes

SUFFIX = ".eml"
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def accepted_ns(name: str) -> int:
    """When the sink accepted the message in file `name` (ns since the epoch)."""
    return int(name.split("-", 1)[0])


@dataclass
class Arrivals:
    """Messages that reached the sink after `since_ns`, by file name, in arrival order."""

    since_ns: int
    names: list[str] = field(default_factory=list)
    reached_ns: int | None = None  # when the target-th message was accepted

    def seconds_to(self, index: int) -> float:
        """Seconds from `since_ns` to the acceptance of the `index`-th message (1-based)."""
        return (accepted_ns(self.names[index - 1]) - self.since_ns) / 1e9

    @property
    def reached_s(self) -> float | None:
        return None if self.reached_ns is None else (self.reached_ns - self.since_ns) / 1e9

    def curve(self, points: int = 60) -> list[tuple[float, int]]:
        """(seconds since `since_ns`, messages held) at about `points` moments."""
        if not self.names:
            return []
        step = max(1, len(self.names) // points)
        picked = list(range(step - 1, len(self.names), step))
        if picked[-1] != len(self.names) - 1:
            picked.append(len(self.names) - 1)
        return [(round(self.seconds_to(i + 1), 3), i + 1) for i in picked]


class MailDir:
    """The sink's directory."""

    def __init__(self, directory: Path):
        self.directory = directory

    def names(self) -> set[str]:
        try:
            with os.scandir(self.directory) as entries:
                return {e.name for e in entries if e.name.endswith(SUFFIX)}
        except FileNotFoundError:
            return set()

    def count(self) -> int:
        """Messages held (cheaper than `names()`: no set of 10,000s of names to build)."""
        try:
            return sum(1 for name in os.listdir(self.directory) if name.endswith(SUFFIX))
        except FileNotFoundError:
            return 0

    def headers(self, name: str, limit: int = 8192):
        """The message's headers (parsed from its first `limit` bytes)."""
        with open(self.directory / name, "rb") as handle:
            head = handle.read(limit)
        for separator in (b"\r\n\r\n", b"\n\n"):
            if separator in head:
                head = head.split(separator, 1)[0] + separator
                break
        return _HEADERS.parsebytes(head)

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def wait_for(
        self,
        target: int,
        *,
        since_ns: int,
        before: set[str],
        timeout: float,
        processes: Processes,
        procs: tuple[Proc, ...],
        interval: float = 0.5,
        linger: float = 0.0,
        progress=None,
    ) -> Arrivals:
        """Count the directory every `interval` s until it holds `target` messages that were
        not in `before` (the sink only adds files, so new = held - len(before)); then keep
        listing for `linger` s, so more than `target` (duplicates) would show. Fails when a
        process in `procs` dies or `timeout` passes. `progress(n)` is called about every 10 s.
        Arrival times come from the file names, so `interval` only sets how soon the end is
        noticed (and the harness's CPU: listing 30,000 names takes about 25 ms here)."""
        started = time.monotonic()
        deadline = started + timeout
        reported = started
        while True:
            held = self.count() - len(before)
            if held >= target:
                break
            now = time.monotonic()
            processes.check(*procs)
            if now > deadline:
                raise BenchmarkFailed(f"the SMTP sink holds {held} of {target} messages after {timeout:.0f} s")
            if progress is not None and now - reported >= 10:
                progress(held)
                reported = now
            time.sleep(interval)
        time.sleep(linger)
        new = self.names() - before
        names = sorted(new, key=accepted_ns)
        arrivals = Arrivals(since_ns, names)
        arrivals.reached_ns = accepted_ns(names[target - 1])
        early = [n for n in names if accepted_ns(n) < since_ns]
        if early:
            raise BenchmarkFailed(f"{len(early)} messages reached the sink before the clock started")
        return arrivals


class SubjectWatcher:
    """Notices messages as they reach the sink: each new file's headers are parsed once.
    `poll()` returns (name, Subject, To) of the files that appeared since the last call."""

    def __init__(self, maildir: MailDir, *, ignore: set[str] | None = None):
        self.maildir = maildir
        self.seen: set[str] = set(ignore or ())

    def poll(self) -> list[tuple[str, str, str]]:
        new = sorted(self.maildir.names() - self.seen, key=accepted_ns)
        found = []
        for name in new:
            headers = self.maildir.headers(name)
            found.append((name, str(headers["Subject"] or ""), str(headers["To"] or "")))
        self.seen.update(new)
        return found
