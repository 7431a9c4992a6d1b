"""Run a command and leave nothing of it behind: `python -m tests.support.reaper -- CMD ...`.

The test suite starts brokers, PostgreSQL clusters (which `pg_ctl` detaches), gunicorn
masters and `make run` supervisors in sessions of their own, so a signal to the test run's
process group does not reach them, and a test run stopped by Ctrl-C, SIGTERM or a closed
terminal (SIGHUP) before its fixtures' teardown would leave them running. This wrapper makes
itself the "child subreaper" (Linux `PR_SET_CHILD_SUBREAPER`): every process the command
starts, however it detaches, is re-parented to the wrapper rather than to PID 1 when its
parent dies. The wrapper forwards those three signals to the command, waits for it, then
stops whatever of its descendants is still running (SIGTERM, then SIGKILL after a grace
period), and exits with the command's status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 10.0
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def descendants(root: int) -> list[int]:
    """Every living process below `root` (orphans below a subreaper are re-parented to it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a zombie has stopped already; reaping it is all that is left
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, waiting = [], [root]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.append(child)
            waiting.append(child)
    return found


def reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_descendants(grace: float = GRACE_SECONDS) -> list[str]:
    """SIGTERM every descendant, SIGKILL what is left after `grace` seconds; their command lines."""
    found = descendants(os.getpid())
    commands = [_command_line(pid) for pid in found]
    for pid in found:
        _signal(pid, signal.SIGTERM)
    left = found
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        reap_zombies()
        left = [pid for pid in left if pid in descendants(os.getpid())]
    for pid in left:
        _signal(pid, signal.SIGKILL)
    reap_zombies()
    return commands


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return f"pid {pid}"


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: python -m tests.support.reaper -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    become_subreaper()
    process = subprocess.Popen(command)
    for signum in FORWARDED:
        signal.signal(signum, lambda signum, _frame: _signal(process.pid, signum))
    status = process.wait()
    for signum in FORWARDED:  # the clean-up below is not to be interrupted
        signal.signal(signum, signal.SIG_IGN)
    left = stop_descendants()
    if left:
        listed = "".join(f"\n  {command}" for command in left)
        print(f"reaper: stopped {len(left)} process(es) the run left behind:{listed}", file=sys.stderr)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
