import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90
DEMO_TIMEOUT = 120


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing end-to-end test shows the tail of every process's log beside the failure."""
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("system")
    if report.failed and isinstance(stack, Stack):
        report.sections.append(("outcome-chain process logs (tails)", stack.log_tails()))


@dataclass
class MakeRun:
    """`make run` (`outcomes run`) on free ports with its own var/ directory."""

    process: subprocess.Popen
    ports: dict[str, int]
    var: Path
    output: str  # what it printed up to "Press Ctrl-C"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service.upper() + '_PORT']}"

    def demo_summary(self) -> str:
        """Read on until the background demo seeding has printed its summary (or failed)."""
        lines = []
        deadline = time.monotonic() + DEMO_TIMEOUT
        for line in self.process.stdout:
            lines.append(line)
            if line.startswith("Messages:") or "could not be seeded" in line or time.monotonic() > deadline:
                break
        return "".join(lines)


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """One `make run` per test module: starting it takes tens of seconds."""
    ports = {
        name: free_port()
        for name in ("INTAKE_PORT", "DECISIONS_PORT", "NOTIFIER_PORT", "SMTP_PORT", "EMBEDDED_KAFKA_PORT")
    }
    var = tmp_path_factory.mktemp("make-run") / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATA_ENCRYPTION_KEYS")
    }
    env.update(
        {name: str(port) for name, port in ports.items()},
        OUTCOMES_VAR_DIR=str(var),
        # Links in messages point at the ports this run uses, as they would for anyone who moved them.
        PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['DECISIONS_PORT']}",
        NOTIFIER_PUBLIC_URL=f"http://127.0.0.1:{ports['NOTIFIER_PORT']}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for line in process.stdout:
        lines.append(line)
        if "Press Ctrl-C" in line or time.monotonic() > deadline:
            break
    assert "Press Ctrl-C" in "".join(lines), "".join(lines)
    yield MakeRun(process=process, ports=ports, var=var, output="".join(lines))
    if process.poll() is None:
        process.kill()
