"""The production-shape tier: what a council deploys, run the way it runs.

The wheel is built from the tracked files (as from a clean clone) and installed with its
runtime dependencies only (pinned by requirements/runtime.txt when the checkout has that
lock) into a fresh virtualenv outside the checkout. Every process of the deployment comes
from that virtualenv and starts in an empty directory with no PYTHONPATH: migrations,
topics, the council and its keys through `outcomes`, gunicorn for each web app configured
from the package, two consumer replicas per service (one group, so Kafka rebalances), one
relay per service and the notifier's sender; PostgreSQL for every database. Tansu and the
SMTP server are this test process's (development tools a council does not install).
Participants' links use public names under PUBLIC_DOMAIN, never 127.0.0.1.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import Install
from tests.support.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = Path("requirements") / "runtime.txt"  # in the checkout, when there is one
PUBLIC_DOMAIN = "council.test"  # reserved (RFC 2606): resolved by tests/support/ingress.py
TENANT = "ceredigion"
CONSUMER_REPLICAS = 2
CASE_SYSTEM = "https://case-system.ceredigion.example.gov.uk/adults"  # the CloudEvents source its case system sends as


def _run(*argv: str | Path, cwd: Path) -> None:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.fail(
            f"{' '.join(map(str, argv))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def virtualenv(tmp_path_factory) -> Path:
    """A fresh virtualenv outside the checkout holding the built wheel and what it needs to run."""
    work = tmp_path_factory.mktemp("production-install")
    source = work / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for path in filter(None, tracked.decode().split("\0")):
        if (ROOT / path).is_file():  # a tracked file deleted in the work tree is not part of it
            (source / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, source / path)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", source, "-w", work / "dist", cwd=work)
    (wheel,) = (work / "dist").glob("outcome_chain-*.whl")

    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work)
    pip = (venv / "bin" / "python", "-m", "pip", "install", "--quiet")
    if (source / RUNTIME_LOCK).exists():  # the lock, then the wheel on top of it
        _run(*pip, "-r", source / RUNTIME_LOCK, cwd=work)
        _run(*pip, "--no-deps", wheel, cwd=work)
    else:
        _run(*pip, wheel, cwd=work)
    _run(venv / "bin" / "python", "-m", "pip", "check", cwd=work)
    shutil.rmtree(source)  # nothing of the checkout is left beside the installation
    return venv


@pytest.fixture(scope="module")
def deployment(virtualenv, tmp_path_factory, postgres):
    with running_stack(
        tmp_path_factory.mktemp("deployment"),
        postgres,
        tenant=TENANT,
        tenant_name="Ceredigion County Council",
        install=Install.virtualenv(virtualenv),
        consumers=CONSUMER_REPLICAS,
        public_domain=PUBLIC_DOMAIN,
        case_systems=(CASE_SYSTEM,),
        settings={
            "OUTCOMES_ENV": "production",
            # A sender killed with messages claimed gives them back when its lease runs out:
            # half the default, still far longer than a batch of sends takes on a busy machine.
            "NOTIFIER_LEASE_SECONDS": "30",
        },
    ) as stack:
        yield stack
