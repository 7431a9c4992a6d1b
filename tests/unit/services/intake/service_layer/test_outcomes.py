"""Intake learns what became of each contribution from decisions' and the notifier's events."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.decisions.service_layer import services as decision_services
from services.intake.service_layer import services as intake_services
from shared.infra.tables import outbox, utcnow
from shared.messaging import events
from shared.rules.constants import DECISIONS_TOPIC, MESSAGE_ACKNOWLEDGEMENT, NOTIFICATIONS_TOPIC, OUTCOME_RATED
from shared.rules.domain import UK
from tests.support import factories
from tests.support.clock import uk_today


def _decisions_messages(loop, after: int = 0):
    """decisions' announcements on outcomes.decisions after an outbox id, as Kafka records."""
    with loop.chain.decisions.engine.connect() as connection:
        rows = connection.execute(
            sa.select(outbox).where(outbox.c.id > after, outbox.c.topic == DECISIONS_TOPIC).order_by(outbox.c.id)
        ).all()
    return [loop.relay.message(row.topic, bytes(row.payload)) for row in rows]


def _last_decisions_outbox_id(loop) -> int:
    with loop.chain.decisions.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()


def test_a_contributions_status_follows_its_chain_to_closed(loop):
    engagement = loop.engagement()
    contribution = loop.contribute(engagement["id"])
    assert loop.status(contribution["id"]) == "received"

    decision = loop.decide([contribution["id"]], resource_changes=[factories.resource_change_payload()])

    assert loop.status(contribution["id"]) == "decided"
    outcome = loop.outcome(contribution["id"])
    assert outcome.latest_outcome == "partly_adopted"
    assert outcome.decision_count == 1
    assert outcome.first_decided_at is not None
    assert outcome.feedback_delivered_at is None

    loop.send_messages()  # the acknowledgement and the update go out by email: "sent"
    outcome = loop.outcome(contribution["id"])
    assert outcome.feedback_delivered_at is not None  # the update, not the acknowledgement
    assert loop.status(contribution["id"]) == "decided"  # told, but the budget change is still to come

    change = decision["resource_changes"][0]["id"]
    done = loop.decisions_api().patch(f"/v1/resource-changes/{change}", json={"status": "implemented", "note": "Done."})
    assert done.status_code == 200, done.json
    loop.relay.deliver()
    assert loop.status(contribution["id"]) == "closed"  # implemented, and the person was told

    loop.send_receipt(contribution, "failed", utcnow(), id=_update_notification_id(loop, contribution))
    assert loop.status(contribution["id"]) == "implemented"  # the update never reached them after all

    loop.send_receipt(contribution, "delivered", utcnow(), id=_update_notification_id(loop, contribution))
    assert loop.status(contribution["id"]) == "closed"
    listed = loop.intake_api().get("/v1/contributions", query_string={"status": "closed"}).json
    assert [c["id"] for c in listed["items"]] == [contribution["id"]]


def _update_notification_id(loop, contribution) -> str:
    found = loop.relay.announced("notifier", type_="notification.sent")
    return next(
        e["data"]["notification_id"]
        for e in found
        if e["data"]["contribution_id"] == contribution["id"] and e["data"]["kind"] == "decision_linked"
    )


def test_the_acknowledgement_alone_is_not_feedback(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    loop.send_messages()

    assert loop.outcome(contribution["id"]).feedback_delivered_at is None
    kinds = {e["data"]["kind"] for e in loop.relay.announced("notifier", type_="notification.sent")}
    assert kinds == {MESSAGE_ACKNOWLEDGEMENT}


def test_a_deferred_decision_is_under_consideration_until_amended_to_an_outcome(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    revisit = (uk_today() + dt.timedelta(days=90)).isoformat()
    decision = loop.decide([contribution["id"]], outcome="deferred", revisit_on=revisit)
    assert loop.status(contribution["id"]) == "under_consideration"
    assert loop.outcome(contribution["id"]).first_decided_at is None

    amended = loop.decisions_api().patch(
        f"/v1/decisions/{decision['id']}", json=factories.amendment_payload(outcome="adopted")
    )
    assert amended.status_code == 200, amended.json
    loop.relay.deliver()

    assert loop.status(contribution["id"]) == "decided"
    outcome = loop.outcome(contribution["id"])
    assert outcome.latest_outcome == "adopted"
    assert outcome.first_decided_at is not None


def test_unlinking_takes_the_decision_away(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    decision = loop.decide([contribution["id"]])

    response = loop.decisions_api().post(
        f"/v1/decisions/{decision['id']}/links/{contribution['id']}/unlink", json=factories.unlink_payload()
    )
    assert response.status_code == 200, response.json
    loop.relay.deliver()

    assert loop.status(contribution["id"]) == "received"
    outcome = loop.outcome(contribution["id"])
    assert (outcome.decision_count, outcome.first_decided_at, outcome.latest_outcome) == (0, None, None)


def test_events_delivered_twice_or_out_of_order_leave_the_same_outcome(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    loop.relay.deliver()
    before = _last_decisions_outbox_id(loop)
    # The board decides, then amends: decisions announces linked (v1) then amended (v2)...
    api = loop.decisions_api()
    revisit = (uk_today() + dt.timedelta(days=90)).isoformat()
    decided = api.post(
        "/v1/decisions",
        json=factories.decision_payload(
            loop.board(), outcome="deferred", revisit_on=revisit, links=[factories.link_payload(contribution["id"])]
        ),
    ).json
    api.patch(f"/v1/decisions/{decided['id']}", json=factories.amendment_payload(outcome="not_adopted"))
    story = _decisions_messages(loop, before)
    # ...which reach intake newest first, and then again.
    loop.chain.intake.processor.process(list(reversed(story)))
    loop.chain.intake.processor.process(story)

    outcome = loop.outcome(contribution["id"])
    assert (outcome.latest_outcome, outcome.decision_count) == ("not_adopted", 1)
    assert loop.status(contribution["id"]) == "decided"

    # A message's "delivered" before its "sent": it stays delivered, told when it was sent.
    sent_at = utcnow() - dt.timedelta(minutes=5)
    delivered = loop.send_receipt(contribution, "delivered", utcnow(), id="n-1")
    sent = loop.send_receipt(contribution, "sent", sent_at, id="n-1")
    loop.send_event(NOTIFICATIONS_TOPIC, delivered)  # a duplicate: ignored
    loop.send_event(NOTIFICATIONS_TOPIC, sent)
    assert loop.outcome(contribution["id"]).feedback_delivered_at == sent_at
    assert loop.status(contribution["id"]) == "closed"
    assert loop.dead_letters() == []


def test_ratings_from_the_status_page_and_by_sms_keep_the_latest_answer(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    loop.decide([contribution["id"]])
    rated_at = utcnow()

    loop.rate(contribution, "partly", rated_at)
    assert (loop.outcome(contribution["id"]).rating, loop.outcome(contribution["id"]).rated_at) == (
        "partly",
        rated_at,
    )

    # An older answer by SMS reply arriving late changes nothing; a newer one counts.
    for answer, at in (("no", rated_at - dt.timedelta(hours=1)), ("yes", rated_at + dt.timedelta(hours=1))):
        loop.send_event(NOTIFICATIONS_TOPIC, _sms_rating(loop, contribution, answer, at))
        expected = "partly" if answer == "no" else "yes"
        assert loop.outcome(contribution["id"]).rating == expected


def _sms_rating(loop, contribution: dict, rating: str, at: dt.datetime) -> dict:
    """outcome.rated as the notifier announces a reply of 1, 2 or 3 to an update."""
    return events.make(
        type=OUTCOME_RATED,
        source="urn:outcome-chain:notifier",
        tenant=loop.council.slug,
        subject=contribution["id"],
        time=at,
        data={
            "contribution_id": contribution["id"],
            "participant_id": contribution["participant_id"],
            "rating": rating,
            "rated_at": at.isoformat(),
            "channel": "sms",
        },
    )


def test_an_event_naming_another_councils_contribution_is_dead_lettered_and_changes_nothing(loop):
    ours = loop.contribute(loop.engagement()["id"])
    before = _last_decisions_outbox_id(loop)
    loop.decide([ours["id"]])
    linked = next(events.parse(m.value) for m in _decisions_messages(loop, before) if b"contribution.linked" in m.value)
    forged = {**linked, "id": "forged-1", "tenant": loop.other.slug}
    forged["time"] = forged["time"].isoformat()

    loop.send_event(DECISIONS_TOPIC, forged)
    loop.send_event(NOTIFICATIONS_TOPIC, loop.receipt(ours, "delivered", utcnow(), id="n-9", tenant=loop.other.slug))

    reasons = [row.reason for row in loop.dead_letters()]
    assert reasons == ["tenant does not match the contribution it refers to"] * 2
    assert loop.outcome(ours["id"]).decision_count == 1
    assert loop.outcome(ours["id"]).feedback_delivered_at is None


def test_an_event_about_a_contribution_intake_never_received_is_dead_lettered(loop):
    contribution = loop.contribute(loop.engagement()["id"])
    envelope = loop.receipt(contribution, "sent", utcnow(), id="n-2")
    envelope["data"]["contribution_id"] = "00000000-0000-4000-8000-000000000000"

    loop.send_event(NOTIFICATIONS_TOPIC, envelope)

    assert [row.reason for row in loop.dead_letters()] == ["unknown contribution: intake never received it"]


def test_a_contribution_past_its_feedback_date_with_no_decision_becomes_overdue(loop):
    months_ago = utcnow() - dt.timedelta(days=120)
    engagement = intake_services.create_engagement(
        loop.chain.intake.uow(),
        loop.council.slug,
        {
            **factories.engagement_payload(),
            "feedback_due": (months_ago + dt.timedelta(days=30)).astimezone(UK).date(),
        },
        now=months_ago,
        source=loop.chain.intake.source,
    )
    contribution = loop.contribute(engagement.id)
    loop.relay.deliver()

    now = utcnow()
    decision_services.announce_overdue(
        loop.chain.decisions.uow(), today=now.astimezone(UK).date(), now=now, source=loop.chain.decisions.source
    )
    loop.relay.deliver()

    assert loop.status(contribution["id"]) == "overdue"
