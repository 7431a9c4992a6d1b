"""A case system's submission naming another council's engagement or participant is refused
exactly as an unknown one is: dead-lettered with the reason, nothing created for anyone,
and the next good submission accepted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.intake.adapters.tables import contributions, participants
from shared.infra.tables import dead_letters
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    DECISION_AMENDED,
    DECISIONS_TOPIC,
    NOTIFICATIONS_TOPIC,
    OUTCOME_RATED,
    RESOURCE_CHANGED,
    SOURCE_NOT_REGISTERED,
    SUBMISSIONS_TOPIC,
    TOPIC_PUBLISHERS,
)
from tests.support import factories
from tests.support.relay import Relay


@pytest.fixture
def relay(intake) -> Relay:
    return Relay({"intake": intake})


@pytest.fixture
def theirs(intake_api, other_council) -> dict:
    """The other council's engagement and a participant of theirs."""
    api = intake_api.as_(tenant=other_council)
    engagement = api.post("/v1/engagements", json=factories.engagement_payload())
    participant = api.post("/v1/participants", json=factories.participant_payload())
    assert (engagement.status_code, participant.status_code) == (201, 201)
    return {"engagement_id": engagement.json["id"], "participant_id": participant.json["id"]}


def stored(intake, table: sa.Table) -> list:
    with intake.engine.connect() as connection:
        return sorted(map(repr, connection.execute(sa.select(table)).all()))


@pytest.mark.parametrize(
    ("named", "reason"),
    [
        ("engagement_id", "invalid data: engagement_id: Unknown engagement."),
        ("participant_id", "invalid data: participant_id: Unknown participant."),
    ],
)
def test_a_submission_naming_another_councils_thing_is_refused_like_an_unknown_one(
    intake, relay, council, engagement, theirs, named, reason
):
    payload = factories.contribution_payload(engagement["id"])
    if named == "participant_id":
        del payload["participant"]  # a known participant is named instead of given inline
    payload[named] = theirs[named]
    foreign = factories.submission_event(council.slug, payload)
    good = factories.submission_event(council.slug, factories.contribution_payload(engagement["id"]))
    before = {table.name: stored(intake, table) for table in (contributions, participants)}

    relay.send("intake", SUBMISSIONS_TOPIC, foreign)

    with intake.engine.connect() as connection:
        [dead] = connection.execute(sa.select(dead_letters)).all()
    assert (dead.reason, dead.tenant, dead.event_id) == (reason, council.slug, foreign["id"])
    assert {table.name: stored(intake, table) for table in (contributions, participants)} == before

    relay.send("intake", SUBMISSIONS_TOPIC, good)

    [received] = [e for e in relay.announced("intake", type_="contribution.received") if e["tenant"] == council.slug]
    assert received["data"]["engagement_id"] == engagement["id"]


# Issue 16: internal events forged on the case systems' topic -------------------------------


def dashboard(loop) -> dict:
    report = loop.intake_api().get("/v1/reports/dashboard")
    assert report.status_code == 200, report.json
    return report.json


def test_outcome_events_forged_on_the_submissions_topic_change_no_status_and_no_dashboard(loop):
    """As reported: outcome.rated and contribution.linked for a decision that does not exist,
    published on intake.submissions for a received contribution."""
    contribution = loop.contribute(loop.engagement()["id"])
    before = dashboard(loop)

    for event_type in (CONTRIBUTION_LINKED, OUTCOME_RATED, RESOURCE_CHANGED, DECISION_AMENDED):
        loop.send_event(SUBMISSIONS_TOPIC, factories.outcome_event(event_type, loop.council.slug, contribution["id"]))

    assert loop.status(contribution["id"]) == "received"
    assert loop.outcome(contribution["id"]) is None
    assert dashboard(loop) == before
    assert [row.reason for row in loop.dead_letters()] == [
        f"event type {t!r} is not accepted on {SUBMISSIONS_TOPIC}"
        for t in (CONTRIBUTION_LINKED, OUTCOME_RATED, RESOURCE_CHANGED, DECISION_AMENDED)
    ]


def test_a_real_decisions_link_relayed_onto_the_submissions_topic_changes_nothing(loop):
    """Even a genuine announcement, copied from outcomes.decisions to the case systems' topic."""
    first, second = (loop.contribute(loop.engagement()["id"]) for _ in range(2))
    loop.decide([first["id"]])
    [linked] = loop.relay.announced("decisions", type_=CONTRIBUTION_LINKED)
    copied = {**linked, "id": "copied-1", "data": {**linked["data"], "contribution_id": second["id"]}}
    before = dashboard(loop)

    loop.send_event(SUBMISSIONS_TOPIC, copied)

    assert loop.status(second["id"]) == "received"
    assert dashboard(loop) == before


@pytest.mark.parametrize("topic", [DECISIONS_TOPIC, NOTIFICATIONS_TOPIC])
def test_an_outcome_event_from_a_case_system_on_an_internal_topic_is_refused(loop, topic):
    contribution = loop.contribute(loop.engagement()["id"])
    before = dashboard(loop)
    forged = factories.outcome_event(
        OUTCOME_RATED, loop.council.slug, contribution["id"], source=factories.CASE_SYSTEM_SOURCE
    )

    loop.send_event(topic, forged)

    assert loop.outcome(contribution["id"]) is None
    assert dashboard(loop) == before
    assert [row.reason for row in loop.dead_letters()] == [
        f"{topic} accepts events only from {TOPIC_PUBLISHERS[topic]}"
    ]


def test_a_submission_from_a_source_the_council_never_registered_is_refused(loop):
    engagement = loop.engagement()
    unregistered = factories.submission_event(
        loop.council.slug, factories.contribution_payload(engagement["id"]), source="urn:forged:case-system"
    )
    before = dashboard(loop)

    loop.send_event(SUBMISSIONS_TOPIC, unregistered)

    assert loop.intake_api().get("/v1/contributions").json["total"] == 0
    assert dashboard(loop) == before
    assert [row.reason for row in loop.dead_letters()] == [SOURCE_NOT_REGISTERED]
