import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90
DEMO_TIMEOUT = 120


class MakeRun:
    """`make run` (`outcomes run`) on free ports with its own var/ directory. What it prints
    is read as it comes (so it never blocks on a full pipe) and kept in `lines`."""

    def __init__(self, var: Path, ports: dict[str, int], extra_env: dict[str, str] | None = None):
        self.var = var
        self.ports = ports
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_DATABASE_URL")
            and k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATA_ENCRYPTION_KEYS", "SMTP_HOST", "SMTP_PORT")
        }
        env.update(
            {name: str(port) for name, port in ports.items()},
            OUTCOMES_VAR_DIR=str(var),
            # Links in messages point at the ports this run uses, as they would for anyone who moved them.
            PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['DECISIONS_PORT']}",
            NOTIFIER_PUBLIC_URL=f"http://127.0.0.1:{ports['NOTIFIER_PORT']}",
        )
        env.update(extra_env or {})
        self.lines: list[str] = []
        self._more = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.output = self.read_until(lambda line: "Press Ctrl-C" in line, STARTUP_TIMEOUT)
        assert "Press Ctrl-C" in self.output, self.output  # what it printed up to "Press Ctrl-C"

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._more:
                self.lines.append(line)
                self._more.notify_all()
        with self._more:
            self.lines.append("")  # the end
            self._more.notify_all()

    def read_until(self, found, timeout: float, start: int = 0) -> str:
        """Everything printed from line `start` up to the first line `found` accepts (or the
        end, or the timeout)."""
        deadline = time.monotonic() + timeout
        with self._more:
            index = start
            while time.monotonic() < deadline:
                while index < len(self.lines):
                    line = self.lines[index]
                    index += 1
                    if line == "" or found(line):
                        return "".join(self.lines[start:index])
                self._more.wait(max(0.0, deadline - time.monotonic()))
            return "".join(self.lines[start:index])

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service.upper() + '_PORT']}"

    def demo_summary(self) -> str:
        """Read on until the background demo seeding has printed its summary (or failed)."""
        return self.read_until(
            lambda line: line.startswith("Messages:") or "could not be seeded" in line,
            DEMO_TIMEOUT,
            start=self.output.count("\n"),
        )

    def children(self) -> dict[str, int]:
        """{name: pid} of what the supervisor runs now (`intake-web` is gunicorn's master)."""
        found = {}
        for pid, command in processes.of_run(self.var).items():
            name = _child_name(pid, command)
            if name and processes.parent(pid) == self.process.pid:
                found[name] = pid
        return found

    def stop(self, signum: signal.Signals = signal.SIGINT, timeout: float = 60) -> int:
        """Stop it as a user would (Ctrl-C, a service manager's SIGTERM, a closed terminal's
        SIGHUP) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    def close(self) -> None:
        """Stop it as a user would; if it will not stop, kill it; leave nothing of it running."""
        try:
            self.stop(signal.SIGINT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        left = processes.wait_until_none(self.var, timeout=30)
        processes.kill_all(self.var)
        assert not left, f"left running after `make run` stopped: {left}"


def _child_name(pid: int, command: str) -> str | None:
    words = command.split()
    if "broker" in words and "--listener-url" in words:
        return "broker"
    if "smtp-sink" in words:
        return "smtp-sink"
    if "gunicorn" in words:
        return f"{processes.environ(pid).get('SERVICE')}-web"
    for kind in ("consume", "relay"):
        if kind in words:
            service = words[words.index(kind) + 1]
            return f"{service}-{'consumer' if kind == 'consume' else kind}"
    return None


def free_ports() -> dict[str, int]:
    return {
        name: free_port()
        for name in ("INTAKE_PORT", "DECISIONS_PORT", "NOTIFIER_PORT", "SMTP_PORT", "EMBEDDED_KAFKA_PORT")
    }


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """One `make run` per test module: starting it takes tens of seconds."""
    run = MakeRun(tmp_path_factory.mktemp("make-run") / "var", free_ports())
    try:
        yield run
    finally:
        run.close()
