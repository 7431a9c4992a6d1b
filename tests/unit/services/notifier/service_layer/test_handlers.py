"""The notifier refuses an event whose tenant does not own what it is about.

Each case sends one council's event naming another council's engagement, contribution
or participant: it is dead-lettered with the reason and changes nothing (nobody is told
anything, no preference or contact detail moves), and the next good event is applied.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from services.notifier.adapters.tables import contributions_view, engagements_view, notifications, recipients
from services.notifier.bootstrap import INBOUND_TOPICS
from services.notifier.service_layer.handlers import HANDLERS
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTIONS_TOPIC,
    DECISION_AMENDED,
    DECISION_RECORDED,
    DECISIONS_TOPIC,
    ENGAGEMENT_CREATED,
    ENGAGEMENTS_TOPIC,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    PARTICIPANTS_TOPIC,
    RESOURCE_CHANGED,
    TOPIC_EVENT_TYPES,
)
from tests.support import factories
from tests.support.handling import handle

DECISIONS_SOURCE = "urn:outcome-chain:decisions"


@dataclass
class Scene:
    """Each council's engagement, participant and contribution, as intake announced them."""

    ours: str
    theirs: str
    our: dict[str, dict]  # event type -> our event of that type
    their: dict[str, dict]


def retold(envelope: dict, **changes) -> dict:
    """The event told again: a fresh id, with these changes (`data` merged)."""
    data = {**envelope["data"], **changes.pop("data", {})}
    return {**envelope, "id": str(uuid.uuid4()), **changes, "data": data}


def about_contribution(type_: str, tenant: str, contribution: dict, **data) -> dict:
    """A decisions event about one contribution, as decisions announces it."""
    told = contribution["data"]
    return events.make(
        type=type_,
        source=DECISIONS_SOURCE,
        tenant=tenant,
        subject=told["id"],
        data={
            "contribution_id": told["id"],
            "participant_id": told["participant_id"],
            "reference": told["reference"],
            "engagement_id": told["engagement_id"],
            **data,
        },
    )


def later() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()


# name -> (topic, what the refused event names, build(scene) -> (refused event, good event))
CASES: dict[str, tuple[str, str, Callable[[Scene], tuple[dict, dict]]]] = {
    "engagement.created for our engagement": (
        ENGAGEMENTS_TOPIC,
        "engagement",
        lambda s: (
            retold(s.our[ENGAGEMENT_CREATED], tenant=s.theirs, data={"title": "Taken over", "cannot_change": []}),
            retold(s.our[ENGAGEMENT_CREATED], data={"title": "Day services review, renamed"}),
        ),
    ),
    "contribution.received for our contribution": (
        CONTRIBUTIONS_TOPIC,
        "contribution",
        lambda s: (retold(s.our[CONTRIBUTION_RECEIVED], tenant=s.theirs), retold(s.our[CONTRIBUTION_RECEIVED])),
    ),
    "their contribution to our engagement": (
        CONTRIBUTIONS_TOPIC,
        "engagement",
        lambda s: (
            retold(
                s.their[CONTRIBUTION_RECEIVED],
                data={"id": str(uuid.uuid4()), "engagement_id": s.our[ENGAGEMENT_CREATED]["data"]["id"]},
            ),
            retold(s.their[CONTRIBUTION_RECEIVED], data={"id": str(uuid.uuid4())}),
        ),
    ),
    "their contribution from our participant": (
        CONTRIBUTIONS_TOPIC,
        "participant",
        lambda s: (
            retold(
                s.their[CONTRIBUTION_RECEIVED],
                data={"id": str(uuid.uuid4()), "participant_id": s.our[PARTICIPANT_REGISTERED]["data"]["id"]},
            ),
            retold(s.their[CONTRIBUTION_RECEIVED], data={"id": str(uuid.uuid4())}),
        ),
    ),
    "contribution.linked about our contribution": (
        DECISIONS_TOPIC,
        "contribution",
        lambda s: (
            about_contribution(CONTRIBUTION_LINKED, s.theirs, s.our[CONTRIBUTION_RECEIVED]),
            about_contribution(CONTRIBUTION_LINKED, s.ours, s.our[CONTRIBUTION_RECEIVED]),
        ),
    ),
    "decision.amended about our contribution": (
        DECISIONS_TOPIC,
        "contribution",
        lambda s: (
            about_contribution(DECISION_AMENDED, s.theirs, s.our[CONTRIBUTION_RECEIVED]),
            about_contribution(DECISION_AMENDED, s.ours, s.our[CONTRIBUTION_RECEIVED]),
        ),
    ),
    "resource.changed about our contribution": (
        DECISIONS_TOPIC,
        "contribution",
        lambda s: (
            about_contribution(
                RESOURCE_CHANGED, s.theirs, s.our[CONTRIBUTION_RECEIVED], status="cancelled", previous_status="planned"
            ),
            about_contribution(
                RESOURCE_CHANGED, s.ours, s.our[CONTRIBUTION_RECEIVED], status="in_progress", previous_status="planned"
            ),
        ),
    ),
    "participant.updated for our participant": (
        PARTICIPANTS_TOPIC,
        "participant",
        lambda s: (
            retold(
                s.our[PARTICIPANT_REGISTERED],
                type=PARTICIPANT_UPDATED,
                tenant=s.theirs,
                time=later(),
                data={"preferred_channel": "none", "consent_to_contact": False},
            ),
            retold(s.our[PARTICIPANT_REGISTERED], type=PARTICIPANT_UPDATED, time=later(), data={"language": "cy"}),
        ),
    ),
    "participant.erased for our participant": (
        PARTICIPANTS_TOPIC,
        "participant",
        lambda s: (
            factories.participant_erased_event(s.theirs, s.our[PARTICIPANT_REGISTERED]["data"]["id"]),
            factories.participant_erased_event(s.ours, s.our[PARTICIPANT_REGISTERED]["data"]["id"]),
        ),
    ),
}


@pytest.fixture
def scene(intake_api, council, other_council, relay) -> Scene:
    def announce(api) -> None:
        engagement = api.post("/v1/engagements", json=factories.engagement_payload())
        assert engagement.status_code == 201, engagement.json
        contribution = api.post("/v1/contributions", json=factories.contribution_payload(engagement.json["id"]))
        assert contribution.status_code == 201, contribution.json

    announce(intake_api)
    ours = {event["type"]: event for event in relay.announced("intake")}
    announce(intake_api.as_(tenant=other_council))
    theirs = {event["type"]: event for event in relay.announced("intake") if event["tenant"] == other_council.slug}
    relay.deliver()
    return Scene(council.slug, other_council.slug, ours, theirs)


def everything(notifier) -> dict[str, list]:
    """What the notifier knows and means to send: the rows a refused event must not touch."""
    with notifier.engine.connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(sa.select(table)).all()))
            for table in (recipients, notifications, engagements_view, contributions_view)
        }


def refused(notifier) -> list:
    with notifier.engine.connect() as connection:
        return connection.execute(sa.select(dead_letters)).all()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_event_about_another_councils_thing_is_dead_lettered_and_the_next_is_applied(notifier, relay, scene, case):
    topic, what, build = CASES[case]
    bad, good = build(scene)
    before = everything(notifier)

    relay.send("notifier", topic, bad)

    [dead] = refused(notifier)
    assert dead.reason == f"tenant does not match the {what} it refers to"
    assert (dead.tenant, dead.event_id) == (scene.theirs, bad["id"])
    assert everything(notifier) == before

    relay.send("notifier", topic, good)

    assert [row.event_id for row in refused(notifier)] == [bad["id"]]
    assert everything(notifier) != before


def test_a_decision_as_a_whole_is_not_a_dead_letter(notifier, relay, scene):
    """decision.recorded tells nobody in particular; people hear through contribution.linked."""
    recorded = events.make(
        type=DECISION_RECORDED,
        source=DECISIONS_SOURCE,
        tenant=scene.ours,
        data={"id": str(uuid.uuid4()), "title": "Saturday opening", "outcome": "adopted"},
    )
    before = everything(notifier)

    relay.send("notifier", DECISIONS_TOPIC, recorded)

    assert refused(notifier) == []
    assert everything(notifier) == before


@pytest.mark.parametrize(
    ("topic", "source", "reason"),
    [
        (DECISIONS_TOPIC, "urn:outcome-chain:intake", f"{DECISIONS_TOPIC} accepts events only from {DECISIONS_SOURCE}"),
        (
            DECISIONS_TOPIC,
            factories.CASE_SYSTEM_SOURCE,
            f"{DECISIONS_TOPIC} accepts events only from {DECISIONS_SOURCE}",
        ),
        (
            CONTRIBUTIONS_TOPIC,
            DECISIONS_SOURCE,
            f"event type 'contribution.linked' is not accepted on {CONTRIBUTIONS_TOPIC}",
        ),
    ],
    ids=["from intake", "from a case system", "on the wrong topic"],
)
def test_a_forged_decision_tells_nobody_anything(notifier, relay, scene, topic, source, reason):
    forged = {**about_contribution(CONTRIBUTION_LINKED, scene.ours, scene.our[CONTRIBUTION_RECEIVED]), "source": source}
    before = everything(notifier)

    relay.send("notifier", topic, forged)

    assert [dead.reason for dead in refused(notifier)] == [reason]
    assert everything(notifier) == before
    relay.send(
        "notifier",
        DECISIONS_TOPIC,
        about_contribution(CONTRIBUTION_LINKED, scene.ours, scene.our[CONTRIBUTION_RECEIVED]),
    )
    assert everything(notifier) != before  # the genuine one, from decisions on its topic, is applied


# One handler at a time, wired by the notifier's bootstrap, on intake's real announcements ------


@pytest.fixture
def told(intake_api, relay) -> dict[str, dict]:
    """Intake's announcements of one engagement and contribution, by type, none applied yet."""
    engagement = intake_api.post("/v1/engagements", json=factories.engagement_payload())
    intake_api.post("/v1/contributions", json=factories.contribution_payload(engagement.json["id"]))
    return {event["type"]: event for event in relay.announced("intake")}


def wanted(notifier) -> list[tuple[str, str]]:
    """(kind, participant) of every notification the notifier means to send."""
    with notifier.engine.connect() as connection:
        return [(row.kind, row.participant_id) for row in connection.execute(sa.select(notifications)).all()]


def apply(notifier, told: dict[str, dict], *types: str) -> None:
    for type_ in types:
        handle(notifier, told[type_])


def test_every_event_type_the_notifier_consumes_has_a_handler():
    consumed = set().union(*(TOPIC_EVENT_TYPES[topic] for topic in INBOUND_TOPICS))
    assert consumed == set(HANDLERS)


def test_a_registered_participant_becomes_a_recipient_with_their_preferences(notifier, told):
    apply(notifier, told, PARTICIPANT_REGISTERED)

    with notifier.uow(read_only=True) as uow:
        recipient = uow.recipients.get(told[PARTICIPANT_REGISTERED]["data"]["id"])
    assert (recipient.preferred_channel, recipient.language) == ("email", "en")


def test_a_contribution_received_is_acknowledged(notifier, told):
    apply(notifier, told, PARTICIPANT_REGISTERED, ENGAGEMENT_CREATED, CONTRIBUTION_RECEIVED)

    assert wanted(notifier) == [("acknowledgement", told[CONTRIBUTION_RECEIVED]["data"]["participant_id"])]


def test_a_link_tells_the_participant_of_the_decision(notifier, told, council):
    apply(notifier, told, PARTICIPANT_REGISTERED, ENGAGEMENT_CREATED, CONTRIBUTION_RECEIVED)
    contribution = told[CONTRIBUTION_RECEIVED]

    handle(notifier, about_contribution(CONTRIBUTION_LINKED, council.slug, contribution, **linked_data()))

    assert ("decision_linked", contribution["data"]["participant_id"]) in wanted(notifier)


@pytest.mark.parametrize(
    ("previous", "status", "is_told"), [("planned", "implemented", True), ("planned", "planned", False)]
)
def test_only_a_resource_change_worth_telling_is_told(notifier, told, council, previous, status, is_told):
    apply(notifier, told, PARTICIPANT_REGISTERED, ENGAGEMENT_CREATED, CONTRIBUTION_RECEIVED)
    contribution = told[CONTRIBUTION_RECEIVED]
    change = {**linked_data(), "resource_change_id": str(uuid.uuid4()), "previous_status": previous, "status": status}

    handle(notifier, about_contribution(RESOURCE_CHANGED, council.slug, contribution, **change))

    assert (("resource_changed", contribution["data"]["participant_id"]) in wanted(notifier)) is is_told


def test_a_decision_recorded_on_its_own_tells_nobody(notifier, told, council):
    apply(notifier, told, PARTICIPANT_REGISTERED, ENGAGEMENT_CREATED, CONTRIBUTION_RECEIVED)
    before = everything(notifier)

    handle(notifier, events.make(type=DECISION_RECORDED, source=DECISIONS_SOURCE, tenant=council.slug, data={}))

    assert everything(notifier) == before


def linked_data() -> dict:
    return {"decision_id": str(uuid.uuid4()), "link_id": str(uuid.uuid4()), "version": 1, "outcome": "adopted"}
