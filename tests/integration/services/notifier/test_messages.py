"""A participant hears about their contribution, in their language and format, once."""

from __future__ import annotations

import sqlalchemy as sa

from services.notifier.adapters.tables import notifications
from shared.infra.tables import outbox
from shared.messaging.consumer import Message
from tests.support import factories


def feed(source_platform, target, after_id: int = 0) -> int:
    """Hand one service's real outbox events to another's real processor; return the last id."""
    with source_platform.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox).where(outbox.c.id > after_id).order_by(outbox.c.id)).all()
    target.processor.process(
        [Message(row.topic, 0, row.id, row.message_key.encode(), bytes(row.payload)) for row in rows]
    )
    return rows[-1].id if rows else after_id


def send_all(notifier) -> None:
    sender = notifier.extensions["notifier"].sender
    while sender.send_due():
        pass


def make_due(notifier) -> None:
    """Every waiting message is due now on the notifier's own clock (the back-off has passed)."""
    with notifier.engine.begin() as connection:
        connection.execute(notifications.update().values(next_attempt_at=notifier.clock()))


def statuses(notifier) -> list[str]:
    with notifier.engine.connect() as connection:
        return list(
            connection.execute(sa.select(notifications.c.status).order_by(notifications.c.created_at)).scalars()
        )


def test_a_contribution_is_acknowledged_by_email_once_with_what_can_and_cannot_change(
    intake, intake_api, engagement, notifier, smtp
):
    body = factories.contribution_payload(engagement["id"], type="complaint")
    created = intake_api.as_("case-system").post("/v1/contributions", json=body).json
    feed(intake, notifier)
    feed(intake, notifier)  # the same events again: nothing new
    send_all(notifier)
    send_all(notifier)

    [message] = smtp.messages()
    assert message["To"] == body["participant"]["email"]
    assert created["reference"] in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "What this can change: opening hours; activities offered." in text
    assert "What it cannot change: the total budget; closing the Elm Road site." in text
    assert "3 working days" in text  # a complaint states the statutory timescale
    assert "/status/" in text
    assert message["Message-ID"].endswith("@outcome-chain>")
    assert (
        message["List-Unsubscribe"].startswith("</v1/unsubscribe/") or "/v1/unsubscribe/" in message["List-Unsubscribe"]
    )
    assert message.get_body(("html",)) is not None
    assert statuses(notifier) == ["sent"]


def test_welsh_easy_read_participants_get_welsh_easy_read(intake, intake_api, engagement, notifier, smtp):
    person = factories.participant_payload(language="cy", format="easy_read")
    intake_api.as_("case-system").post(
        "/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person)
    )
    feed(intake, notifier)
    send_all(notifier)

    [message] = smtp.messages()
    assert message["Subject"] == "Rydym wedi cael eich neges"
    assert "Diolch am ddweud beth rydych chi'n ei feddwl." in message.get_body(("plain",)).get_content()


def test_no_consent_means_no_message_and_the_reason_is_recorded(
    intake, intake_api, engagement, notifier, notifier_api, smtp
):
    person = factories.participant_payload(consent_to_contact=False)
    created = (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person))
        .json
    )
    feed(intake, notifier)
    send_all(notifier)

    assert smtp.messages() == []
    [listed] = notifier_api.get(f"/v1/notifications?contribution_id={created['id']}").json["items"]
    assert (listed["status"], listed["reason"]) == ("withheld", "participant did not consent to contact")


def test_the_smtp_server_down_then_back_delivers_every_message_once(intake, intake_api, engagement, notifier, smtp):
    for _ in range(3):
        intake_api.as_("case-system").post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
    feed(intake, notifier)
    smtp.stop()
    send_all(notifier)
    assert statuses(notifier) == ["created"] * 3  # waiting to be tried again, not lost

    smtp.start()
    make_due(notifier)
    send_all(notifier)
    assert statuses(notifier) == ["sent"] * 3
    assert len(smtp.messages()) == 3


def test_a_board_decision_reaches_the_participant_with_the_outcome_reason_and_their_influence(
    intake, intake_api, engagement, decisions, decisions_api, notifier, smtp
):
    created = (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        .json
    )
    feed(intake, decisions)
    feed(intake, notifier)
    board = decisions_api.as_("staff").post("/v1/boards", json=factories.board_payload()).json
    decision = decisions_api.post(
        "/v1/decisions",
        json=factories.decision_payload(
            board["id"],
            engagement_id=engagement["id"],
            outcome="partly_adopted",
            rationale="The budget covers two Saturdays a month.",
            links=[{"contribution_id": created["id"], "influence": "You told us weekends are the loneliest time."}],
            resource_changes=[{"kind": "service", "description": "Saturday opening"}],
        ),
    ).json
    decisions_seen = feed(decisions, notifier)
    change = decision["resource_changes"][0]["id"]
    decisions_api.patch(f"/v1/resource-changes/{change}", json={"status": "implemented", "note": "Open from 5 April"})
    feed(decisions, notifier, after_id=decisions_seen)
    feed(decisions, notifier)  # everything again: nothing twice
    send_all(notifier)

    subjects = [m["Subject"] for m in smtp.messages()]
    assert subjects == [
        f"We have received your view ({created['reference']})",
        f"What happened to your contribution ({created['reference']})",
        f"Progress on a change you asked for ({created['reference']})",
    ]
    update = smtp.messages()[1].get_body(("plain",)).get_content()
    assert "The decision: partly agreed." in update
    assert "Why: The budget covers two Saturdays a month." in update
    assert "How your contribution shaped it: You told us weekends are the loneliest time." in update
    assert "- Saturday opening (planned)" in update
    assert "Saturday opening: done." in smtp.messages()[2].get_body(("plain",)).get_content()

    # The chain learns what was sent from outcomes.notifications.
    feed(notifier, decisions)
    chain = decisions_api.get(f"/v1/contributions/{created['id']}/outcome-chain").json
    assert [m["kind"] for m in chain["messages"]] == ["acknowledgement", "decision_linked", "resource_changed"]
    assert {m["status"] for m in chain["messages"]} == {"sent"}


def test_an_erased_participant_gets_no_message_and_the_reason_is_recorded(
    intake, intake_api, engagement, notifier, notifier_api, smtp
):
    from shared.messaging import events
    from shared.rules.constants import PARTICIPANT_ERASED, PARTICIPANTS_TOPIC

    created = (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        .json
    )
    feed(intake, notifier)
    # What intake will announce when a participant is erased (issue 5): only the id.
    erased = events.make(
        type=PARTICIPANT_ERASED,
        source="urn:outcome-chain:intake",
        tenant=notifier_api.tenant.slug,
        data={"id": created["participant_id"]},
    )
    notifier.processor.process([Message(PARTICIPANTS_TOPIC, 0, 10_000, None, events.dumps(erased))])
    send_all(notifier)

    assert smtp.messages() == []
    [listed] = notifier_api.get(f"/v1/notifications?contribution_id={created['id']}").json["items"]
    assert (listed["status"], listed["reason"]) == ("withheld", "participant erased")
    with notifier.engine.connect() as connection:
        from services.notifier.adapters.tables import recipients

        assert connection.execute(sa.select(recipients.c.contact_sealed)).scalar_one() is None
