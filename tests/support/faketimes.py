"""The moments `make test-clock` starts libfaketime's clock at, one `label|YYYY-mm-dd HH:MM:SS` (UTC)
a line: 23:30 UK time today, and on the next day the UK clocks change (last Sunday of March or
October) 00:30 UK time and a minute before the change itself (01:00 UTC), so that the run crosses
the skipped or repeated hour.

    python -m tests.support.faketimes
"""

from __future__ import annotations

import datetime as dt

from shared.domain import UK


def last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - 6) % 7)


def next_change_day(today: dt.date) -> dt.date:
    """The next day (today included) on which UK clocks change."""
    days = [last_sunday(year, month) for year in (today.year, today.year + 1) for month in (3, 10)]
    return min(day for day in days if day >= today)


def moments(now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    today = now.astimezone(UK).date()
    change = next_change_day(today)
    return [
        ("23:30 UK time today", dt.datetime.combine(today, dt.time(23, 30), UK)),
        (f"00:30 UK time on {change}, a clock-change day", dt.datetime.combine(change, dt.time(0, 30), UK)),
        (f"a minute before the clocks change on {change}", dt.datetime.combine(change, dt.time(0, 59), dt.UTC)),
    ]


def main() -> None:
    for label, moment in moments(dt.datetime.now(dt.UTC)):
        print(f"{label}|{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}")


if __name__ == "__main__":
    main()
