"""Comparing what a soak sent with what every part of the system holds: pure functions.

A `Check` is one row of the reconciliation table: what the load generator's own ledger
says should exist, what a database, a topic or the outside world (SMTP, GOV.UK Notify)
holds, and how many more than expected are allowed (only duplicates to the outside world,
within the bound the architecture promises, ever are).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    what: str
    expected: int
    found: int
    allowed_extra: int = 0  # found may exceed expected by this much (a documented bound)

    @property
    def ok(self) -> bool:
        return self.expected <= self.found <= self.expected + self.allowed_extra

    @property
    def expected_text(self) -> str:
        if self.allowed_extra:
            return f"{self.expected}..{self.expected + self.allowed_extra}"
        return str(self.expected)

    @property
    def verdict(self) -> str:
        return "OK" if self.ok else "MISMATCH"


def mismatches(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def table(checks: list[Check]) -> str:
    """The checks as an aligned Markdown table."""
    rows = [("what", "expected", "found", "result")]
    rows += [(c.what, c.expected_text, str(c.found), c.verdict) for c in checks]
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"| {r[0]:<{w[0]}} | {r[1]:>{w[1]}} | {r[2]:>{w[2]}} | {r[3]:<{w[3]}} |" for r in rows]
    lines.insert(1, f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 1)}:|{'-' * (w[2] + 1)}:|{'-' * (w[3] + 2)}|")
    return "\n".join(lines)


def duplicates(ids: Iterable[str]) -> int:
    """How many deliveries repeated one already made (three of one id count as two)."""
    return sum(count - 1 for count in Counter(ids).values() if count > 1)


def distinct(ids: Iterable[str]) -> int:
    return len(set(ids))


def first_arrivals(arrivals: Iterable[tuple[str, int]]) -> dict[str, int]:
    """{key: earliest arrival} from (key, ns) pairs: a repeated delivery does not count twice."""
    first: dict[str, int] = {}
    for key, at in arrivals:
        if key not in first or at < first[key]:
            first[key] = at
    return first


def latencies_s(started_ns: Mapping[str, int], arrived_ns: Mapping[str, int]) -> list[float]:
    """Seconds from start to arrival for every key that has both, sorted."""
    return sorted((arrived_ns[key] - started_ns[key]) / 1e9 for key in started_ns.keys() & arrived_ns.keys())


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values; None for none."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def latency_line(label: str, sorted_s: list[float]) -> str:
    if not sorted_s:
        return f"{label}: no samples"
    p50, p95, p99 = (percentile(sorted_s, p) for p in (50, 95, 99))
    return f"{label}: n={len(sorted_s)}  p50 {p50:.2f} s  p95 {p95:.2f} s  p99 {p99:.2f} s  max {sorted_s[-1]:.2f} s"


def duplicate_bound(sender_kills: int, sender_processes: int, long_database_outages: int) -> int:
    """The most repeated messages the design allows: a sender that dies between a provider
    accepting a message and recording it as sent repeats that one message when its lease runs
    out, so one per killed sender process. A sender keeps trying to record a send for half its
    lease, so a database restart shorter than that repeats nothing; one longer repeats at most
    one message per sender process."""
    return sender_kills + sender_processes * long_database_outages


def settled(history: list[tuple[float, tuple]], quiet_s: float) -> bool:
    """Whether the last snapshots of some counts, (time, counts) oldest first, have not
    changed for at least `quiet_s` seconds."""
    if not history:
        return False
    last_at, last = history[-1]
    unchanged_since = last_at
    for at, counts in reversed(history):
        if counts != last:
            break
        unchanged_since = at
    return last_at - unchanged_since >= quiet_s
