"""One shifted clock for every process of a `make test-clock` run.

`make test-clock` sets OUTCOMES_CLOCK_START (the moment to start at, UTC, from
tests/support/faketimes.py) and OUTCOMES_CLOCK_SINCE (the real epoch second the run began).
Every process derives the same offset from them, so all share one clock that starts at that
moment and runs on in real time:

- Python processes (the pytest controller, its xdist workers) travel with time-machine
  (`travel`, called from tests/conftest.py): `datetime.now()`, `time.time()` and friends move,
  the monotonic clock (sleeps, lock time-outs) does not.
- PostgreSQL runs under libfaketime with the same offset (`faketime_prefix`).

Why not libfaketime for Python too: with Debian's libfaketime (0.9.10) a Python 3.11 lock
or condition wait with a time-out never returns when the monotonic clock is faked (it waits
with sem_clockwait on CLOCK_MONOTONIC; libfaketime issues #390 and #469), and with the monotonic
clock left alone every `time.sleep` fails with EINVAL. The Tansu broker is a statically linked
binary that no LD_PRELOAD reaches; it keeps the real time, and no test compares its clock
with ours.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import time

START, SINCE = "OUTCOMES_CLOCK_START", "OUTCOMES_CLOCK_SINCE"


def offset_seconds() -> float | None:
    """Seconds from the real clock to the shifted one, or None when the clock is not shifted."""
    start = os.environ.get(START)
    if not start:
        return None
    moment = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
    return moment.timestamp() - float(os.environ[SINCE])


def travel():
    """Move this Python process's clock (once); return the traveller, or None."""
    offset = offset_seconds()
    if offset is None:
        return None
    import time_machine

    traveller = time_machine.travel(time.time() + offset, tick=True)
    traveller.start()
    return traveller


def faketime_prefix() -> list[str]:
    """The command prefix that runs a C program (PostgreSQL) on the same shifted clock: libfaketime
    with a relative offset, which every process (postmaster, backends, pg_ctl) applies alike with
    no shared state; its monotonic clock is left alone (a shifted one could go negative)."""
    offset = offset_seconds()
    if offset is None:
        return []
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        raise RuntimeError("make test-clock needs libfaketime: apt-get install faketime")
    return ["env", f"LD_PRELOAD={found[0]}", f"FAKETIME={offset:+.0f}s", "FAKETIME_DONT_FAKE_MONOTONIC=1"]
