"""The sender killed with SIGKILL in the middle of 1,000 sends: afterwards every
participant has exactly one message, except at most one per sender that was in flight."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from services.notifier.adapters.tables import notifications
from tests.integration.services.notifier.test_messages import feed, send_all
from tests.support import factories

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def start_sender(smtp) -> subprocess.Popen:
    env = {
        **os.environ,
        "OUTCOMES_ENV": "development",
        "SMTP_PORT": str(smtp.port),
        "NOTIFIER_LEASE_SECONDS": "2",
        "NOTIFIER_SEND_INTERVAL": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "send"],
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


class DatabaseGoesAwayAfterSending:
    """The real email provider; just after the message leaves, PostgreSQL shuts down and comes
    back a moment later, as in a restart or fail-over while the sender records the send."""

    def __init__(self, provider, postgres, away_for: float):
        self.provider, self.postgres, self.away_for, self.name = provider, postgres, away_for, provider.name
        self.outages = 0

    def send(self, message) -> str:
        reference = self.provider.send(message)
        if not self.outages:
            self.outages += 1
            self.postgres.stop_server()
            threading.Timer(self.away_for, self.postgres.start_server).start()
        return reference


@pytest.mark.parametrize("database_backend", ["postgresql"], indirect=False)
def test_a_database_outage_while_recording_a_send_does_not_send_it_twice(
    intake, intake_api, engagement, notifier, smtp, postgres
):
    intake_api.as_("case-system").post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
    feed(intake, notifier)
    sender = notifier.extensions["notifier"].sender
    # The outage (1.5 s, and PostgreSQL's start on a loaded machine) is well inside half the lease.
    sender.lease = dt.timedelta(seconds=60)
    email = sender.providers["email"] = DatabaseGoesAwayAfterSending(sender.providers["email"], postgres, 1.5)

    send_all(notifier)
    real_clock = sender.clock
    sender.clock = lambda: real_clock() + sender.lease + dt.timedelta(seconds=1)  # the lease has run out
    send_all(notifier)

    assert email.outages == 1
    assert len(smtp.messages()) == 1
    assert sent(notifier) == 1
