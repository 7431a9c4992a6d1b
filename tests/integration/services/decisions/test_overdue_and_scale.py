"""Overdue feedback is announced once; one decision can answer thousands of contributions;
another council's contributions can never be linked."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa

from services.decisions.bootstrap import bootstrap, scheduled
from shared.infra.tables import outbox
from shared.messaging.consumer import Message
from shared.rules.constants import CONTRIBUTION_FEEDBACK_OVERDUE, CONTRIBUTION_LINKED, DECISIONS_TOPIC
from tests.integration.services.decisions.test_outcome_chain import board, decision_body, submit
from tests.support import factories


def feed_intake_events(intake, decisions) -> None:
    """intake's real outbox events, applied by decisions' real processor."""
    with intake.engine.connect() as connection:
        rows = connection.execute(
            sa.select(outbox.c.id, outbox.c.topic, outbox.c.message_key, outbox.c.payload).order_by(outbox.c.id)
        ).all()
    decisions.processor.process(
        [
            Message(row.topic, 0, row.id, row.message_key.encode(), bytes(row.payload))
            for row in rows
            if row.topic != "outcomes.participants"
        ]
    )


def test_overdue_feedback_is_announced_once_per_undecided_contribution_and_listed_for_staff(
    settings, intake, intake_api, engagement, decisions, decisions_api, broker
):
    contributions = submit(intake_api, engagement, 3)
    feed_intake_events(intake, decisions)
    decisions_api.post(
        "/v1/decisions", json=decision_body(board(decisions_api)["id"], engagement["id"], [contributions[0]["id"]])
    )

    after_due = dt.datetime.combine(
        dt.date.fromisoformat(engagement["feedback_due"]) + dt.timedelta(days=3), dt.time(12), dt.UTC
    )
    later = bootstrap(settings, clock=lambda: after_due)
    tasks = dict((task.__name__, task) for _, task in scheduled(later))
    assert tasks["overdue_feedback"]() == 2
    assert tasks["overdue_feedback"]() == 0  # never the same notice twice

    from tests.support.running import start_relay

    relay = start_relay(decisions, broker.bootstrap)
    announced = broker.wait_for_events(DECISIONS_TOPIC, 1 + 1 + 1 + 2)
    relay.join()
    overdue = [e for e in announced if e["type"] == CONTRIBUTION_FEEDBACK_OVERDUE]
    assert sorted(e["subject"] for e in overdue) == sorted(c["id"] for c in contributions[1:])
    assert all(e["data"]["participant_id"] and e["data"]["feedback_due"] == engagement["feedback_due"] for e in overdue)

    from services.decisions.entrypoints.web import create_app
    from tests.support.api import ApiClient

    staff_later = ApiClient(create_app(later).test_client(), decisions_api.tenant, role="staff")
    listed = staff_later.get("/v1/overdue").json
    assert sorted(item["reference"] for item in listed["items"]) == sorted(c["reference"] for c in contributions[1:])
    assert all(item["days_overdue"] == 3 and item["participant_told"] for item in listed["items"])
    chain = staff_later.get(f"/v1/contributions/{contributions[1]['id']}/outcome-chain").json
    assert chain["status"] == "overdue"


def test_one_decision_links_two_thousand_contributions_in_one_request(
    intake, intake_api, engagement, decisions, decisions_api
):
    contributions = submit(intake_api, engagement, 2000)
    feed_intake_events(intake, decisions)

    recorded = decisions_api.post(
        "/v1/decisions",
        json=decision_body(board(decisions_api)["id"], engagement["id"], [c["id"] for c in contributions]),
    )

    assert recorded.status_code == 201
    assert len(recorded.json["links"]) == 2000
    with decisions.engine.connect() as connection:
        payloads = connection.execute(sa.select(outbox.c.payload)).scalars().all()
    linked = [json.loads(p) for p in payloads if json.loads(p)["type"] == CONTRIBUTION_LINKED]
    assert sorted(e["subject"] for e in linked) == sorted(c["id"] for c in contributions)
    report = decisions_api.get(f"/v1/engagements/{engagement['id']}/you-said-we-did").json
    assert report["closing_the_loop"]["share_with_decision"] == 1.0


def test_another_councils_contribution_cannot_be_linked_and_nothing_of_it_is_revealed(
    intake, intake_api, other_council, decisions, decisions_api
):
    dorset = intake_api.as_("staff", tenant=other_council)
    dorset_engagement = dorset.post("/v1/engagements", json=factories.engagement_payload()).json
    theirs = dorset.post("/v1/contributions", json=factories.contribution_payload(dorset_engagement["id"])).json
    feed_intake_events(intake, decisions)

    board_id = board(decisions_api)["id"]
    attempt = decisions_api.post("/v1/decisions", json=decision_body(board_id, None, [theirs["id"]]))
    unknown_id = str(uuid.uuid4())
    guess = decisions_api.post("/v1/decisions", json=decision_body(board_id, None, [unknown_id]))

    # Answered exactly as an id nobody has: a link left pending, so the id is not confirmed.
    assert attempt.status_code == guess.status_code == 201
    assert [link["state"] for link in attempt.json["links"]] == [link["state"] for link in guess.json["links"]]
    assert [link["state"] for link in attempt.json["links"]] == ["pending"]
    assert theirs["reference"] not in attempt.get_data(as_text=True)
    feed_intake_events(intake, decisions)  # their contribution's events again: still not linked to it
    decision = decisions_api.get(f"/v1/decisions/{attempt.json['id']}").json
    assert [link["state"] for link in decision["links"]] == ["pending"]
    assert decisions_api.get(f"/v1/contributions/{theirs['id']}/outcome-chain").status_code == 404
    unknown = decisions_api.get("/v1/contributions/00000000-0000-0000-0000-000000000000/outcome-chain")
    assert decisions_api.get(f"/v1/contributions/{theirs['id']}/outcome-chain").json == unknown.json
