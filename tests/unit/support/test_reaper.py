"""The wrapper `make test` runs pytest under: a stopped test run leaves no process behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A command that starts a grandchild in a session of its own (as the suite starts brokers,
# gunicorn and `make run`), writes the grandchild's pid to a file, then waits.
DETACHING = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_under_reaper(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    pid_file = tmp_path / "grandchild.pid"
    reaper = subprocess.Popen(
        [sys.executable, "-m", "tests.support.reaper", "--", sys.executable, "-c", DETACHING, str(pid_file)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return reaper, int(pid_file.read_text())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_run_stopped_by_a_signal_leaves_no_detached_process(tmp_path, signum):
    reaper, grandchild = start_under_reaper(tmp_path)
    assert alive(grandchild)

    reaper.send_signal(signum)
    _, stderr = reaper.communicate(timeout=60)

    assert not alive(grandchild)
    assert "stopped 1 process(es) the run left behind" in stderr
    assert reaper.returncode != 0


def test_the_commands_exit_status_is_the_runs():
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.reaper", "--", sys.executable, "-c", "raise SystemExit(5)"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 5
    assert done.stderr == ""


def test_it_stops_what_a_finished_command_left_behind(tmp_path):
    pid_file = tmp_path / "left.pid"
    leaving = (
        "import subprocess, sys; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True); "
        "open(sys.argv[1], 'w').write(str(child.pid))"
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.reaper", "--", sys.executable, "-c", leaving, str(pid_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0
    assert not alive(int(pid_file.read_text()))
