"""A case system's submission naming another council's engagement or participant is refused
exactly as an unknown one is: dead-lettered with the reason, nothing created for anyone,
and the next good submission accepted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.intake.adapters.tables import contributions, participants
from shared.constants import SUBMISSIONS_TOPIC
from shared.tables import dead_letters
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
