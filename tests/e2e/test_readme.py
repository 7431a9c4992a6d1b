"""Every README shell block marked `# example: NAME` works as written, against a real `make run`.

The blocks run in README order, each in its own `bash`, in a directory that holds what a
reader has at the top of the repository (`var/` of this `make run`, and `.venv`). Like a
reader pasting them into one terminal, a block sees the variables and functions the
blocks before it defined. The only change made to a block is the port numbers: this
`make run` listens on free ports, so `127.0.0.1:8001` becomes its intake's address, and so
on. Each block must exit 0 and print what the README says it prints.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```sh\n# example: (?P<name>[a-z0-9-]+)\n(?P<script>.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCK_TIMEOUT = 60

# What each example prints (regular expressions, each searched for in its output).
EXPECTED = {
    "setup": [r"Day services for older people in Trowbridge", r"Seibiant byr i ofalwyr"],
    "demo-chain": [
        r"DEMO-\d{4}-\d{6} (decided|closed) - Bring back lunches cooked on site",
        r"received",
        r"message_sent acknowledgement",
        r"linked",
    ],
    "demo-overdue": [r"DEMO-\d{4}-\d{6} \d+ days: Seibiant byr i ofalwyr"],
    "demo-mail": [
        r"margaret\.ellis@example\.org \| We have received your view",
        r"Open a status page in your browser: http://\S+/status/\S+",
    ],
    "engagement": [r"^engagement [0-9a-f-]{36}$"],
    "contribute": [r'"reference": ?"DEMO-\d{4}-\d{6}"', r'"status": ?"received"'],
    "replay": [r"HTTP/1\.1 201", r"(?i)idempotent-replayed: true"],
    "errors": [
        r"HTTP/1\.1 401",
        r"(?i)content-type: application/problem\+json",
        r'"status": ?422',
        r'"participant\.email": ?\["Not a valid email address\."\]',
    ],
    "decide": [r'"outcome": ?"partly_adopted"'],
    "chain": [r"^(decided|closed)$", r"received", r"linked", r"resource_status"],
    "messages": [r"acknowledgement email (sent|delivered)", r"decision_linked email (sent|delivered)"],
    "kafka-submit": [r"^sent [0-9a-f-]{36}$", r"DEMO-\d{4}-\d{6} recommendation received", r"DEMO-\d{4}-\d{6} view"],
    "kafka-subscribe": [
        r"contribution\.received demo DEMO-\d{4}-\d{6} case_system",
        r"(?s)contribution\.received.*\n.*contribution\.received",
    ],
    "you-said-we-did": [r"^item,title,outcome_or_status,", r"^decision,Saturday opening,partly_adopted"],
    "openapi": [r"intake \d+ operations", r"decisions \d+ operations", r"notifier \d+ operations"],
    "operator": [r"migrated intake", r"migrated notifier", r"created: none \(all exist\)", r"0 dead letter\(s\)"],
    "tenants-and-keys": [
        r"(created|exists): wiltshire",
        r"key id: \S+",
        r'"items": ?\[\]',
        r"^404$",
        r"revoked \S+",
        r"^401$",
    ],
    "metrics": [
        r'"database": ?"ok"',
        r'"kafka": ?"ok"',
        r"^401$",
        r'outbox_backlog\{service="intake"\} \d',
        r"dead_letters_open",
    ],
    "export": [
        r"^reference,contribution_id,engagement_id,",
        r"^DEMO-\d{4}-\d{6},.*,Day services review,view,.*,Saturday opening,partly_adopted,",
        r"exported 2 outcome chain\(s\)",
    ],
}

# After the block: keep the variables and functions it defined for the next block.
SAVE_STATE = r"""
set +e +o pipefail
for __name in $(compgen -v); do
  case "$__name" in __*|BASH*|PIPESTATUS|FUNCNAME|_) continue ;; esac
  grep -qx "$__name" <<< "$__baseline" || declare -p "$__name"
done > "$README_STATE.new"
declare -f >> "$README_STATE.new"
mv "$README_STATE.new" "$README_STATE"
"""


def readme_examples() -> list[tuple[str, str]]:
    return [(m["name"], m["script"]) for m in BLOCK.finditer(README.read_text())]


def localised(script: str, ports: dict[str, int]) -> str:
    for default, setting in (
        (8001, "INTAKE_PORT"),
        (8002, "DECISIONS_PORT"),
        (8003, "NOTIFIER_PORT"),
        (9092, "EMBEDDED_KAFKA_PORT"),
        (8025, "SMTP_PORT"),
    ):
        script = script.replace(f"127.0.0.1:{default}", f"127.0.0.1:{ports[setting]}")
    return script


@pytest.fixture(scope="module")
def reader(make_run, tmp_path_factory):
    """A reader's terminal at the top of the repository, once the demo council is seeded."""
    summary = make_run.demo_summary()
    assert "Demo council 'demo'" in summary, summary
    home = make_run.var.parent
    (home / ".venv").symlink_to(ROOT / ".venv")
    env = {**os.environ, **{name: str(port) for name, port in make_run.ports.items()}}
    env.pop("VIRTUAL_ENV", None)
    env["README_STATE"] = str(tmp_path_factory.mktemp("readme") / "state.sh")
    return {"cwd": home, "env": env, "ports": make_run.ports, "make_run": make_run}


def test_every_example_has_expectations():
    names = [name for name, _ in readme_examples()]
    assert len(names) == len(set(names)), "two README examples share a name"
    assert names == list(EXPECTED), "README examples and EXPECTED differ (names or order)"


@pytest.mark.parametrize("name, script", readme_examples(), ids=[name for name, _ in readme_examples()])
def test_readme_example(reader, name, script):
    wrapped = (
        '__baseline=$(compgen -v)\n[ -f "$README_STATE" ] && source "$README_STATE"\nset -eo pipefail\n'
        + localised(script, reader["ports"])
        + SAVE_STATE
    )
    run = subprocess.run(
        ["bash", "-c", wrapped],
        cwd=reader["cwd"],
        env=reader["env"],
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"example {name} exited {run.returncode}:\n{output}"
    for expected in EXPECTED[name]:
        assert re.search(expected, output, re.MULTILINE), f"example {name} did not print {expected!r}:\n{output}"
    if name == "demo-mail":
        # The link the reader is told to open is a working status page.
        link = re.search(r"Open a status page in your browser: (\S+)", output)[1]
        page = requests.get(link, timeout=10)
        assert page.status_code == 200 and "DEMO-" in page.text
