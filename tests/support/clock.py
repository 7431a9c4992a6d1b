"""Clocks for platforms built with `bootstrap(..., clock=...)`.

A test's clock never mixes with a real one by chance: either it is moved by hand (`ManualClock`)
and every time the code under test reads comes from it, or it is the real clock moved to a chosen
hour of today (`today_at`, `ShiftedClock`), so that it keeps running and stays on the same day as
the database's clock and the services' own.
"""

from __future__ import annotations

import datetime as dt
import time

from shared.rules.domain import UK


class ManualClock:
    def __init__(self, start: dt.datetime | None = None):
        self.now = start or dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def uk_today() -> dt.date:
    """Today's date in the UK, as the services reckon it (not the machine's local date)."""
    return dt.datetime.now(UK).date()


def today_at(hour: int, minute: int = 0) -> dt.datetime:
    """Today (UK date) at that UK wall-clock time, in UTC. Only for hours every day has
    (not 01:00-02:00, which the spring change day skips)."""
    return dt.datetime.combine(uk_today(), dt.time(hour, minute), UK).astimezone(dt.UTC)


def to_uk_day(days: int) -> dt.timedelta:
    """How far from now to noon (UK) `days` UK days from today: what "N days later" means to a
    person, whose days are 23 or 25 hours long on the clock-change days."""
    noon = dt.datetime.combine(uk_today() + dt.timedelta(days=days), dt.time(12), UK)
    return noon - dt.datetime.now(dt.UTC)


class ShiftedClock:
    """The real clock, moved once to `start`: it reads `start` now and runs on with real time,
    so it cannot jump a day when the real clock passes midnight during the test."""

    def __init__(self, start: dt.datetime):
        self.start, self._began = start, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._began)
