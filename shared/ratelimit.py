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
    def __init__(self, per_minute: int, burst: int, clock: Callable[[], dt.datetime]):
        if per_minute < 1 or burst < 1:
            raise ValueError("RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST must be at least 1")
        self.per_second = per_minute / 60
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key_id: str) -> Allowance:
        """Spend one of the key's tokens if it has one."""
        now = self.clock().timestamp()
        with self._lock:
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
