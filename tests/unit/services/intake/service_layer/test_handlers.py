"""Intake's handlers one at a time, wired by intake's own bootstrap (tests/support/handling.py):
each event changes what staff see about a contribution, and nothing else."""

from __future__ import annotations

import datetime as dt

from services.intake.service_layer import services as intake_services
from services.intake.service_layer.handlers import HANDLERS
from shared.infra.tables import utcnow
from shared.messaging.events import make
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_UNLINKED,
    DECISION_RECORDED,
    DECISIONS_TOPIC,
    NOTIFICATIONS_TOPIC,
    OUTCOME_RATED,
    RESOURCE_CHANGED,
    SUBMISSIONS_TOPIC,
    TOPIC_EVENT_TYPES,
)
from shared.rules.domain import UK
from tests.support import factories
from tests.support.handling import handle


def test_every_event_type_intake_consumes_has_a_handler():
    consumed = TOPIC_EVENT_TYPES[SUBMISSIONS_TOPIC] | TOPIC_EVENT_TYPES[DECISIONS_TOPIC]
    assert set(consumed) | set(TOPIC_EVENT_TYPES[NOTIFICATIONS_TOPIC]) == set(HANDLERS)


def test_a_submission_becomes_a_received_contribution(loop):
    engagement = loop.engagement()

    handle(
        loop.chain.intake,
        factories.submission_event(loop.council.slug, factories.contribution_payload(engagement["id"])),
    )

    [contribution] = loop.intake_api().get("/v1/contributions").json["items"]
    assert (contribution["engagement_id"], contribution["status"]) == (engagement["id"], "received")


def test_a_link_makes_the_contribution_decided(loop):
    contribution = loop.contribute(loop.engagement()["id"])

    handle(loop.chain.intake, factories.outcome_event(CONTRIBUTION_LINKED, loop.council.slug, contribution["id"]))

    assert loop.status(contribution["id"]) != "received"
    assert loop.outcome(contribution["id"]) is not None


def test_an_unlink_after_a_link_takes_the_decision_away(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    linked = factories.outcome_event(CONTRIBUTION_LINKED, loop.council.slug, contribution["id"])
    handle(loop.chain.intake, linked)
    decided = loop.status(contribution["id"])

    unlinked = factories.outcome_event(
        CONTRIBUTION_UNLINKED,
        loop.council.slug,
        contribution["id"],
        decision_id=linked["data"]["decision_id"],
        link_id=linked["data"]["link_id"],
    )
    handle(loop.chain.intake, unlinked)

    assert loop.status(contribution["id"]) != decided


def test_a_rating_is_kept_with_the_outcome(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    handle(loop.chain.intake, factories.outcome_event(CONTRIBUTION_LINKED, loop.council.slug, contribution["id"]))

    handle(loop.chain.intake, factories.outcome_event(OUTCOME_RATED, loop.council.slug, contribution["id"]))

    assert loop.outcome(contribution["id"]).rating == "no"


def test_an_overdue_contribution_is_marked_so(loop):
    months_ago = utcnow() - dt.timedelta(days=120)
    past_due = intake_services.create_engagement(
        loop.chain.intake.uow(),
        loop.council.slug,
        {**factories.engagement_payload(), "feedback_due": (months_ago + dt.timedelta(days=30)).astimezone(UK).date()},
        now=months_ago,
        source=loop.chain.intake.source,
    )
    contribution = loop.contribute(past_due.id)

    handle(
        loop.chain.intake,
        factories.outcome_event(CONTRIBUTION_FEEDBACK_OVERDUE, loop.council.slug, contribution["id"]),
    )

    assert loop.status(contribution["id"]) == "overdue"


def test_a_resource_change_is_kept_with_the_outcome(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    linked = factories.outcome_event(CONTRIBUTION_LINKED, loop.council.slug, contribution["id"])
    handle(loop.chain.intake, linked)
    before = loop.outcome(contribution["id"])

    handle(
        loop.chain.intake,
        factories.outcome_event(
            RESOURCE_CHANGED, loop.council.slug, contribution["id"], decision_id=linked["data"]["decision_id"]
        ),
    )

    assert loop.outcome(contribution["id"]) != before


def test_a_receipt_is_kept_with_the_outcome(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    receipt = loop.receipt(contribution, "delivered", dt.datetime.now(dt.UTC), id="n-1")

    handle(loop.chain.intake, receipt)

    assert loop.outcome(contribution["id"]) is not None


def test_a_decision_on_its_own_changes_no_contribution(loop):
    contribution = loop.contribute(loop.engagement()["id"])

    handle(
        loop.chain.intake,
        make(type=DECISION_RECORDED, source="urn:outcome-chain:decisions", tenant=loop.council.slug, data={}),
    )

    assert (loop.status(contribution["id"]), loop.outcome(contribution["id"])) == ("received", None)
