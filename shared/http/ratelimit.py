"""Per-key rate limits: a token bucket for each API key, kept in the web process.

A key starts with `burst` tokens, each request takes one, and tokens come back at
`per_minute / 60` a second up to `burst`. The buckets live in the process, so with N
gunicorn workers a key may get up to N times the limit; that still stops one runaway
client from starving the others, which is what the limit is for.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the next request would be allowed (0 if allowed now)
    reset: int  # whole seconds until the bucket is full again


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock: Callable[[], dt.datetime], *, max_keys: int | None = None):
        """`max_keys` bounds the buckets kept, for keys anyone can make up (addresses): past it,
        full buckets are forgotten (a new one starts full anyway), then the least recently used."""
        if per_minute < 1 or burst < 1:
            raise ValueError("RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST must be at least 1")
        self.per_second = per_minute / 60
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def _make_room(self, now: float) -> None:
        """Called with the lock held, when a new key would pass `max_keys`."""
        self._buckets = {
            key: (tokens, at)
            for key, (tokens, at) in self._buckets.items()
            if tokens + max(0.0, now - at) * self.per_second < self.burst
        }
        if len(self._buckets) >= self.max_keys:
            by_age = sorted(self._buckets, key=lambda key: self._buckets[key][1])
            for key in by_age[: len(by_age) - self.max_keys // 2]:
                del self._buckets[key]

    def take(self, key_id: str) -> Allowance:
        """Spend one of the key's tokens if it has one."""
        now = self.clock().timestamp()
        with self._lock:
            if self.max_keys is not None and key_id not in self._buckets and len(self._buckets) >= self.max_keys:
                self._make_room(now)
            tokens, at = self._buckets.get(key_id, (float(self.burst), now))
            # max(): a clock stepped backwards refills nothing rather than draining the bucket.
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key_id] = (tokens, now)
        return Allowance(
            allowed=allowed,
            limit=self.burst,
            remaining=int(tokens),
            retry_after=0 if allowed else math.ceil((1 - tokens) / self.per_second),
            reset=math.ceil((self.burst - tokens) / self.per_second),
        )
