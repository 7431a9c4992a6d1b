"""Token buckets: a burst, then the rate; and, for keys anyone can make up, bounded memory."""

from __future__ import annotations

import datetime as dt

from shared.http.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_a_burst_then_one_a_minute_with_the_wait_said():
    clock = Clock()
    limiter = RateLimiter(1, 3, clock)

    answers = [limiter.take("a").allowed for _ in range(4)]
    refused = limiter.take("a")
    clock.advance(60)

    assert answers == [True, True, True, False]
    assert refused.retry_after == 60
    assert limiter.take("a").allowed
    assert limiter.take("b").allowed  # every key has its own bucket


def test_past_max_keys_full_buckets_are_forgotten_and_spent_ones_kept():
    clock = Clock()
    limiter = RateLimiter(1, 2, clock, max_keys=3)
    limiter.take("spender")
    limiter.take("spender")
    clock.advance(1)
    for key in ("idle-1", "idle-2"):
        limiter.take(key)
    clock.advance(120)  # the idle ones are full again; the spender too
    limiter.take("spender")
    limiter.take("spender")

    limiter.take("newcomer")

    assert len(limiter._buckets) <= 3
    assert not limiter.take("spender").allowed  # still limited: its bucket was not forgotten


def test_a_flood_of_new_keys_never_grows_past_max_keys():
    clock = Clock()
    limiter = RateLimiter(1, 5, clock, max_keys=100)

    for n in range(1_000):
        limiter.take(f"address-{n}")
        limiter.take(f"address-{n}")

    assert len(limiter._buckets) <= 100
