"""The sender killed with SIGKILL in the middle of 1,000 sends: afterwards every
participant has exactly one message, except at most one per sender that was in flight."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from services.notifier.adapters.tables import notifications
from tests.integration.services.notifier.test_messages import feed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def start_sender(smtp) -> subprocess.Popen:
    env = {**os.environ, "SMTP_PORT": str(smtp.port), "NOTIFIER_LEASE_SECONDS": "2", "NOTIFIER_SEND_INTERVAL": "0.05"}
    return subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "send"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def sent(notifier) -> int:
    with notifier.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).where(notifications.c.status == "sent")).scalar_one()


@pytest.mark.parametrize("database_backend", ["sqlite"], indirect=False)
def test_sigkill_mid_batch_repeats_at_most_the_message_in_flight(intake, intake_api, engagement, notifier, smtp):
    case_system = intake_api.as_("case-system")
    from tests.support import factories

    for _ in range(1000):
        case_system.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
    feed(intake, notifier)

    sender = start_sender(smtp)
    deadline = time.monotonic() + 120
    while len(list(smtp.directory.glob("*.eml"))) < 300:
        assert time.monotonic() < deadline and sender.poll() is None, "the sender stalled"
        time.sleep(0.05)
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    killed_at = len(list(smtp.directory.glob("*.eml")))
    assert killed_at < 1000

    restarted = start_sender(smtp)
    try:
        while sent(notifier) < 1000:
            assert time.monotonic() < deadline + 120, "the restarted sender did not finish"
            time.sleep(0.2)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(30)

    per_message = collections.Counter(message["Message-ID"] for message in smtp.messages())
    assert len(per_message) == 1000  # every participant got their acknowledgement
    duplicates = sum(count - 1 for count in per_message.values())
    assert duplicates <= 1, f"{duplicates} messages were sent twice; one sender had at most one in flight"
