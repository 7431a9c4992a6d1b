"""The broker goes away while contributions arrive over HTTP: nothing is refused, nothing lost."""

from __future__ import annotations

import time

from shared.messaging import outbox
from shared.rules.constants import CONTRIBUTIONS_TOPIC
from tests.support import factories
from tests.support.running import start_relay


def test_broker_paused_while_contributions_arrive_every_request_succeeds_and_every_event_arrives_after(
    intake, intake_api, engagement, broker
):
    relay = start_relay(intake, broker.bootstrap)
    try:
        broker.pause()  # SIGSTOP: connections hang rather than fail, the nastier case
        submitted = []
        for _ in range(25):
            response = intake_api.as_("case-system").post(
                "/v1/contributions", json=factories.contribution_payload(engagement["id"])
            )
            assert response.status_code == 201, response.json
            submitted.append(response.json["id"])
        time.sleep(4)  # longer than the relay's request timeout: it has given up at least once
        # Each request wrote a participant and a contribution event; all wait in the outbox.
        assert outbox.backlog(intake.engine)[0] >= 50
        broker.resume()
        announced = broker.wait_for_events(CONTRIBUTIONS_TOPIC, 25, timeout=60)
    finally:
        broker.resume()
        relay.join()

    assert relay.crashed is None
    # At least once: every contribution announced; a resend after a timeout is the same event id.
    assert sorted({event["data"]["id"] for event in announced}) == sorted(submitted)
    assert len({event["id"] for event in announced}) == 25
    assert outbox.backlog(intake.engine)[0] == 0


def test_broker_restarted_empty_the_relay_starts_a_new_producer_and_every_later_event_arrives(
    intake, intake_api, engagement, broker
):
    """The relay's producer is idempotent; a broker that forgot its producer id refuses that
    id for ever, so the relay must go on with a new producer (make run's broker restarting)."""

    def contribute(count: int) -> list[str]:
        made = []
        for _ in range(count):
            response = intake_api.as_("case-system").post(
                "/v1/contributions", json=factories.contribution_payload(engagement["id"])
            )
            assert response.status_code == 201, response.json
            made.append(response.json["id"])
        return made

    def announced() -> set[str]:
        return {event["data"]["id"] for event in broker.events(CONTRIBUTIONS_TOPIC)}

    def wait_until_announced(ids: list[str]) -> set[str]:
        deadline = time.monotonic() + 90
        while not set(ids) <= announced() and time.monotonic() < deadline:
            time.sleep(0.2)
        return announced()

    relay = start_relay(intake, broker.bootstrap)
    try:
        before = contribute(3)
        assert wait_until_announced(before) == set(before)
        broker.restart_empty()
        after = contribute(3)
        assert wait_until_announced(after) == set(after)  # the new broker holds only what came after
    finally:
        relay.join()

    assert relay.crashed is None
    assert outbox.backlog(intake.engine)[0] == 0
