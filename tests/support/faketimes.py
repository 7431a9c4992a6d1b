"""The moments `make test-clock` starts its shifted clock at (tests/support/shifted_time.py), one
`label|YYYY-mm-dd HH:MM:SS` (UTC) a line: 23:30 UK time today, and 00:30 UK time on each of the
next two days the UK clocks change (last Sunday of March and of October). 00:30 in October is
still summer time (23:30 UTC the day before), so the UK date and the UTC date differ; in March
it is the last half hour before the skipped hour.

    python -m tests.support.faketimes
"""

from __future__ import annotations

import datetime as dt

from shared.rules.domain import UK


def last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - 6) % 7)


def next_change_days(today: dt.date, count: int = 2) -> list[dt.date]:
    """The next days (today included) on which UK clocks change."""
    days = [last_sunday(year, month) for year in (today.year, today.year + 1) for month in (3, 10)]
    return sorted(day for day in days if day >= today)[:count]


def moments(now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    today = now.astimezone(UK).date()
    return [("23:30 UK time today", dt.datetime.combine(today, dt.time(23, 30), UK))] + [
        (f"00:30 UK time on {day}, a clock-change day", dt.datetime.combine(day, dt.time(0, 30), UK))
        for day in next_change_days(today)
    ]


def main() -> None:
    for label, moment in moments(dt.datetime.now(dt.UTC)):
        print(f"{label}|{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}")


if __name__ == "__main__":
    main()
