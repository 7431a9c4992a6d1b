"""`make run`: its machine-local secrets in var/dev.env, and its supervisor on real (tiny)
child processes: a child that stops is started again with growing delays while the others
keep running; one that keeps stopping is left stopped with a word to say so; what a killed
child leaves in its process group goes too."""

from __future__ import annotations

import os
import signal
import sys
import time

from ops import devrun
from ops.devrun import Supervisor
from tests.support import processes

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def tend_until(supervisor: Supervisor, done, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline
        supervisor.tend()
        time.sleep(0.01)


def test_a_child_that_keeps_stopping_is_restarted_with_growing_delays_then_left_stopped(tmp_path):
    said: list[str] = []
    supervisor = Supervisor(tmp_path, dict(os.environ), said.append, backoff_first_s=0.05, crash_limit=5)
    try:
        supervisor.start("flaky", [sys.executable, "-c", "raise SystemExit(3)"])
        steady = supervisor.start("steady", SLEEPER)

        tend_until(supervisor, lambda: supervisor.children["flaky"].gave_up)

        waits = [line for line in said if "restarting it in" in line]
        assert [line.split("restarting it in ")[1].split(" s")[0] for line in waits] == ["0.05", "0.1", "0.2", "0.4"]
        assert all(line.startswith("flaky exited with status 3") for line in waits)
        assert sum(line.startswith("restarted flaky") for line in said) == 4
        assert "it has stopped 5 times within 60 s, so it is left stopped" in said[-1]
        assert steady.poll() is None and supervisor.pid("steady") == steady.pid  # the rest keep running
    finally:
        supervisor.stop()
    assert steady.poll() is not None


def test_a_killed_child_is_started_again_and_what_it_left_in_its_process_group_is_killed(tmp_path):
    said: list[str] = []
    supervisor = Supervisor(tmp_path, dict(os.environ), said.append, backoff_first_s=0.05)
    spawner = (
        "import subprocess, sys, time; p = subprocess.Popen(sys.argv[1:]); print(p.pid, flush=True); time.sleep(60)"
    )
    try:
        first = supervisor.start("master", [sys.executable, "-c", spawner, *SLEEPER])
        log = tmp_path / "master.log"
        tend_until(supervisor, lambda: log.read_text().strip() != "")
        worker = int(log.read_text().split()[0])

        os.kill(first.pid, signal.SIGKILL)
        tend_until(supervisor, lambda: supervisor.pid("master") != first.pid)

        assert said[0].startswith("master killed by SIGKILL; restarting it in 0.05 s")
        assert said[1].startswith("restarted master (pid")
        deadline = time.monotonic() + 10
        while processes.alive(worker):  # the orphaned worker went with its group
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        supervisor.stop()


def test_stopping_ends_every_child_with_sigterm_and_none_is_started_again(tmp_path):
    said: list[str] = []
    supervisor = Supervisor(tmp_path, dict(os.environ), said.append, backoff_first_s=0.05)
    started = {name: supervisor.start(name, SLEEPER) for name in ("web", "broker")}
    supervisor.stop(last=("broker",))
    assert all(p.poll() == -signal.SIGTERM for p in started.values())
    time.sleep(0.1)
    supervisor.tend()
    assert said == [] and all(supervisor.pid(name) == p.pid for name, p in started.items())


def test_a_metrics_token_is_made_once_and_kept_beside_the_other_secrets(tmp_path):
    first = devrun.dev_secrets(tmp_path)
    again = devrun.dev_secrets(tmp_path)

    assert {"DATA_ENCRYPTION_KEYS", "LINK_SIGNING_SECRET", "METRICS_TOKEN"} <= set(first)
    assert len(first["METRICS_TOKEN"]) >= 32
    assert again == first
    assert (tmp_path / "dev.env").stat().st_mode & 0o777 == 0o600


def test_a_token_already_in_dev_env_is_kept(tmp_path):
    (tmp_path / "dev.env").write_text("METRICS_TOKEN=chosen-by-the-developer\n")

    assert devrun.dev_secrets(tmp_path)["METRICS_TOKEN"] == "chosen-by-the-developer"
