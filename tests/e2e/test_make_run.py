"""`make run` as a newcomer uses it: everything up, demo keys that work, a demo council
seeded on the first start, a clean stop."""

from __future__ import annotations

import json
import signal
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from ops import demo
from shared.rules.constants import ROLES
from tests.support import factories, processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(make_run):
    return {"run": make_run, "ports": make_run.ports, "var": make_run.var, "output": make_run.output}


def test_make_run_starts_everything_prints_working_keys_and_stops_cleanly(stack):
    ports, var = stack["ports"], stack["var"]
    keys = json.loads((var / "dev-keys.json").read_text())
    assert sorted(keys) == sorted(ROLES)
    for key in keys.values():
        assert key in stack["output"]
    intake = f"http://127.0.0.1:{ports['INTAKE_PORT']}"
    for port in (ports["INTAKE_PORT"], ports["DECISIONS_PORT"], ports["NOTIFIER_PORT"]):
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["checks"] == {"database": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["checks"] == {"kafka": "ok"}
    # /metrics answers only the token make run keeps in var/dev.env (and prints where).
    assert "METRICS_TOKEN" in stack["output"]
    dev_env = dict(line.split("=", 1) for line in (var / "dev.env").read_text().split())
    scraper = {"Authorization": f"Bearer {dev_env['METRICS_TOKEN']}"}
    assert requests.get(f"{intake}/metrics", timeout=5).status_code == 401

    staff = {"Authorization": f"Bearer {keys['staff']}"}
    engagement = requests.post(
        f"{intake}/v1/engagements", json=factories.engagement_payload(), headers=staff, timeout=5
    ).json()
    body = factories.contribution_payload(engagement["id"])
    created = requests.post(
        f"{intake}/v1/contributions", json=body, headers={"Authorization": f"Bearer {keys['case-system']}"}, timeout=5
    )
    assert created.status_code == 201
    assert created.json()["reference"].startswith("DEMO-")

    # The relay empties the outbox; the metrics (added up over both gunicorn workers) say so.
    deadline = time.monotonic() + 20
    while (
        'outbox_backlog{service="intake"} 0.0' not in requests.get(f"{intake}/metrics", headers=scraper, timeout=5).text
    ):
        assert time.monotonic() < deadline, "the intake relay did not publish"
        time.sleep(0.3)

    # Decisions hears of the contribution through the broker; a board decision answers it.
    decisions = f"http://127.0.0.1:{ports['DECISIONS_PORT']}"
    board = requests.post(
        f"{decisions}/v1/boards", json={"name": "Adults board", "remit": "Adult social care"}, headers=staff, timeout=5
    ).json()
    chain_url = f"{decisions}/v1/contributions/{created.json()['id']}/outcome-chain"
    deadline = time.monotonic() + 30
    while requests.get(chain_url, headers=staff, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "decisions never learned of the contribution"
        time.sleep(0.3)
    decision = requests.post(
        f"{decisions}/v1/decisions",
        headers=staff,
        timeout=5,
        json={
            "board_id": board["id"],
            "title": "Saturday opening",
            "description": "Two Saturdays a month",
            "decided_on": "2026-11-20",
            "outcome": "adopted",
            "links": [{"contribution_id": created.json()["id"], "influence": "Raised weekend isolation"}],
        },
    )
    assert decision.status_code == 201, decision.text
    chain = requests.get(chain_url, headers=staff, timeout=5).json()
    assert chain["status"] in ("decided", "closed") and chain["decisions"][0]["influence"] == "Raised weekend isolation"

    # The participant's acknowledgement arrives at the SMTP sink, and then the decision's update.
    deadline = time.monotonic() + 30
    while len(list((var / "mail").glob("*.eml"))) < 2:
        assert time.monotonic() < deadline, "the participant was not told"
        time.sleep(0.3)
    mail = "".join(p.read_text() for p in (var / "mail").glob("*.eml"))
    assert created.json()["reference"] in mail and body["participant"]["email"] in mail

    # On a first start the demo council is seeded in the background, and says where its chains are.
    assert "Seeding the demo council" in stack["output"]
    summary = stack["run"].demo_summary()
    assert "Demo council 'demo': 2 engagements, 11 contributions, 3 decisions" in summary, summary
    assert "/outcome-chain" in summary and "you-said-we-did" in summary
    demo_decisions = requests.get(f"{decisions}/v1/decisions", headers=staff, timeout=5).json()["items"]
    assert {"adopted", "partly_adopted", "not_adopted"} <= {d["outcome"] for d in demo_decisions}
    saturdays = next(d for d in demo_decisions if d["title"] == "Open the Trowbridge day centres on Saturdays")
    saturdays = requests.get(f"{decisions}/v1/decisions/{saturdays['id']}", headers=staff, timeout=5).json()
    assert [c["status"] for c in saturdays["resource_changes"]] == ["implemented"]
    demo_chain = requests.get(
        f"{decisions}/v1/contributions/{saturdays['links'][0]['contribution_id']}/outcome-chain",
        headers=staff,
        timeout=5,
    ).json()
    assert demo_chain["status"] in ("implemented", "closed")
    assert {"received", "linked", "resource_status"} <= {step["step"] for step in demo_chain["steps"]}
    overdue = requests.get(f"{decisions}/v1/overdue", headers=staff, timeout=5).json()["items"]
    assert any("Cymraeg" in item["engagement_title"] for item in overdue)

    # The SMTP sink keeps what it is sent.
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "hello"
    message.set_content("sink check")
    with smtplib.SMTP("127.0.0.1", ports["SMTP_PORT"], timeout=5) as smtp:
        smtp.send_message(message)
    assert any("sink check" in p.read_text() for p in (var / "mail").glob("*.eml"))

    assert stack["run"].stop(signal.SIGINT) == 0
    # No process of ours is left, nor listening.
    assert processes.wait_until_none(var, timeout=30) == {}
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)

    # Logs carry ids, never the participant's details or words.
    logs = "".join(p.read_text() for p in (var / "log").glob("*.log"))
    demo_person = demo.CONTRIBUTIONS[0]
    for secret in (
        body["participant"]["email"],
        body["participant"]["name"],
        body["text"],
        demo_person.person["email"],
        demo_person.person["name"],
        demo_person.text,
    ):
        assert secret not in logs
