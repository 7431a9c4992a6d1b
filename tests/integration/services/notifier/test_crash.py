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


class DatabaseGoesAwayAfterFirstSend:
    """The real email provider, staging as it does; once the first message is accepted,
    PostgreSQL shuts down until the test starts it again: the sender cannot record that
    send while it has the next message staged."""

    def __init__(self, provider, postgres):
        self.provider, self.postgres, self.name, self.receipts = provider, postgres, provider.name, provider.receipts
        self.accepted = 0

    def send(self, message) -> str:
        return self.stage(message).complete()

    def stage(self, message):
        staged, outer = self.provider.stage(message), self

        class Staged:
            def complete(self) -> str:
                reference = staged.complete()
                outer.accepted += 1
                if outer.accepted == 1:
                    outer.postgres.stop_server()
                return reference

            def abort(self) -> None:
                staged.abort()

        return Staged()


@pytest.mark.parametrize("database_backend", ["postgresql"], indirect=False)
def test_a_send_that_cannot_be_recorded_stops_the_next_one_before_the_server_takes_it(
    intake, intake_api, engagement, notifier, smtp, postgres
):
    for _ in range(2):
        intake_api.as_("case-system").post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
    feed(intake, notifier)
    sender = notifier.extensions["notifier"].sender
    sender.lease = dt.timedelta(seconds=2)  # the record is given up after half of it
    email = sender.providers["email"] = DatabaseGoesAwayAfterFirstSend(sender.providers["email"], postgres)

    with pytest.raises(sa.exc.OperationalError):
        sender.send_due()
    assert email.accepted == 1  # the second was staged, never completed
    assert len(smtp.messages()) == 1

    postgres.start_server()
    real_clock = sender.clock
    sender.clock = lambda: real_clock() + dt.timedelta(seconds=3)  # the lease has run out
    send_all(notifier)

    per_message = collections.Counter(message["Message-ID"] for message in smtp.messages())
    assert sorted(per_message.values()) == [1, 2]  # only the one in flight went twice
    assert sent(notifier) == 2
