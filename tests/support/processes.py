"""The processes of one `make run`, found by the var/ directory in their environment (every
child of a run has OUTCOMES_VAR_DIR set to the run's own), never by name: other tests run
theirs in parallel. Linux's /proc; the tests run there."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone meanwhile, or not ours to read
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; it only waits to be reaped


def parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def of_run(var: Path) -> dict[int, str]:
    """{pid: command line} of every live process whose OUTCOMES_VAR_DIR is this run's var/."""
    wanted = str(var)
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            pid = int(entry)
            if environ(pid).get("OUTCOMES_VAR_DIR") == wanted and alive(pid):
                found[pid] = _command(pid)
    return found


def wait_until_none(var: Path, timeout: float = 60) -> dict[int, str]:
    """Wait for every process of the run to end; return those still alive at the timeout."""
    deadline = time.monotonic() + timeout
    while (left := of_run(var)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def kill_all(var: Path) -> None:
    """SIGKILL whatever of a run is left (a failed test's clean-up: nothing must keep running)."""
    for pid in of_run(var):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(condition, timeout: float, failure) -> None:
    """Wait for condition(); at the timeout fail with `failure` (text, or a function giving it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure() if callable(failure) else failure
        time.sleep(0.5)
