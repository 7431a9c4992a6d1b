"""`make run` under load with each of its processes killed in turn (kill -9): the supervisor
starts each again, the rest keep running, and nothing is lost. Every contribution accepted
gets exactly one acknowledgement email (at most one repeat per killed sender process: README
"Soak and chaos") and reaches decisions' read model, even across a restart of the embedded
broker, which keeps its topics in memory."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import requests

from bench import reconcile
from tests.e2e.conftest import MakeRun, free_ports
from tests.support import factories, processes

RATE_PER_S = 4
AT_LEAST = 60
KILLED_IN_TURN = (
    "broker",
    "intake-web",
    "intake-consumer",
    "intake-relay",
    "decisions-web",
    "decisions-consumer",
    "decisions-relay",
    "notifier-web",
    "notifier-consumer",  # it runs the sender
    "notifier-relay",
    "smtp-sink",
)
SENDER_PROCESSES = ("notifier-consumer",)
LEASE_S = 20  # a killed sender's claimed message is sent again after this (NOTIFIER_LEASE_SECONDS)
DRAIN_TIMEOUT_S = 240
REFERENCE = re.compile(r"\b[A-Z]+-\d{4}-\d{6}\b")


class Participants:
    """A case system posting contributions (with consent, by email) at a steady rate until
    stopped; each is retried with its Idempotency-Key until intake answers 201."""

    def __init__(self, url: str, key: str, engagement_id: str):
        self.url, self.engagement_id = url, engagement_id
        self.headers = {"Authorization": f"Bearer {key}"}
        self.accepted: dict[str, str] = {}  # contribution id -> reference
        self.retries = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        for n in range(10_000):  # bounded: ends long before this at RATE_PER_S
            if self.stop.is_set() and len(self.accepted) >= AT_LEAST:
                return
            self.stop.wait(max(0.0, started + n / RATE_PER_S - time.monotonic()))
            self._post(factories.contribution_payload(self.engagement_id))

    def _post(self, body: dict) -> None:
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                answer = requests.post(f"{self.url}/v1/contributions", json=body, headers=headers, timeout=10)
                if answer.status_code == 201:
                    self.accepted[answer.json()["id"]] = answer.json()["reference"]
                    return
                assert answer.status_code >= 500, answer.text  # only the server's trouble is retried
            except requests.RequestException:
                pass  # its web process is being started again
            self.retries += 1
            time.sleep(0.25)
        raise AssertionError("a contribution was never accepted")

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()


def acknowledgements(mail: Path) -> list[str]:
    """The reference in the subject of every email in the sink's directory, repeats included
    (nothing is decided here, so each is an acknowledgement: "We have received your view (REF)")."""
    found = []
    for path in sorted(mail.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found += REFERENCE.findall(message["Subject"] or "")[:1]
    return found


def kill_and_wait_for_restart(run: MakeRun, name: str) -> str:
    old = run.children()[name]
    os.kill(old, signal.SIGKILL)
    processes.wait_for(lambda: run.children().get(name) not in (None, old), 60, f"{name} was not started again")
    return f"SIGKILL {name} (pid {old}); started again as pid {run.children()[name]}"


def told_and_known(run: MakeRun, staff: dict, expected: dict[str, str], in_decisions: set[str]):
    """A check: every contribution of `expected` ({id: reference}) is in decisions' read model
    (collected into `in_decisions`) and has its acknowledgement in the sink's directory."""

    def check() -> bool:
        for contribution_id in set(expected) - in_decisions:
            chain = requests.get(
                f"{run.url('decisions')}/v1/contributions/{contribution_id}/outcome-chain", headers=staff, timeout=10
            )
            if chain.status_code == 200:
                in_decisions.add(contribution_id)
        return in_decisions == set(expected) and set(expected.values()) <= set(acknowledgements(run.var / "mail"))

    return check


def test_every_process_killed_in_turn_under_load_loses_nothing(tmp_path):
    run = MakeRun(tmp_path / "var", free_ports(), {"OUTCOMES_DEMO": "0", "NOTIFIER_LEASE_SECONDS": str(LEASE_S)})
    try:
        keys = json.loads((run.var / "dev-keys.json").read_text())
        staff = {"Authorization": f"Bearer {keys['staff']}"}
        engagement = requests.post(
            f"{run.url('intake')}/v1/engagements", json=factories.engagement_payload(), headers=staff, timeout=10
        ).json()
        load = Participants(run.url("intake"), keys["case-system"], engagement["id"])
        done = []
        try:
            processes.wait_for(lambda: len(load.accepted) >= 8, 60, "no contribution was accepted")
            # A running system first: every consumer has joined its group and the first
            # contributions went all the way through before anything is killed.
            first = dict(list(load.accepted.copy().items())[:8])
            processes.wait_for(told_and_known(run, staff, first, set()), 120, "the first contributions to go through")
            for name in KILLED_IN_TURN:
                done.append(kill_and_wait_for_restart(run, name))
                time.sleep(2)  # the load goes on a little before the next
        finally:
            load.finish()
        expected = dict(load.accepted)
        in_decisions: set[str] = set()

        # Wait until every contribution is acknowledged and decisions knows of it.
        drained = told_and_known(run, staff, expected, in_decisions)

        def missing() -> str:
            acked = set(acknowledgements(run.var / "mail"))
            return (
                "\n".join(done)
                + f"\nof {len(expected)}: {len(set(expected) - in_decisions)} not in decisions, "
                + f"{len(set(expected.values()) - acked)} not acknowledged: "
                + ", ".join(sorted(set(expected.values()) - acked)[:20])
            )

        processes.wait_for(drained, DRAIN_TIMEOUT_S, missing)
        # A killed sender's claimed message goes out again when its lease ends: wait past it.
        time.sleep(LEASE_S + 5)
        acks = acknowledgements(run.var / "mail")

        checks = [
            reconcile.Check("contributions accepted", len(expected), len(set(expected.values()))),
            reconcile.Check("in decisions' read model", len(expected), len(in_decisions)),
            reconcile.Check(
                "acknowledged (distinct)", len(expected), reconcile.distinct(a for a in acks if a in expected.values())
            ),
            reconcile.Check(
                "repeated acknowledgements", 0, reconcile.duplicates(acks), allowed_extra=len(SENDER_PROCESSES)
            ),
            reconcile.Check("acknowledgements for no contribution", 0, len(set(acks) - set(expected.values()))),
        ]
        report = "\n".join(done) + f"\nload retries: {load.retries}\n" + reconcile.table(checks)
        assert not reconcile.mismatches(checks), report

        said = "".join(run.lines)
        for name in KILLED_IN_TURN:
            assert f"restarted {name} (pid" in said, said
        assert "left stopped" not in said and "stopped unexpectedly" not in said, said
        assert "the relays publish their retained outboxes again" in said, said
        supervisor_log = (run.var / "log" / "supervisor.log").read_text()
        assert all(f"{name} killed by SIGKILL" in supervisor_log for name in KILLED_IN_TURN), supervisor_log
    finally:
        run.close()
