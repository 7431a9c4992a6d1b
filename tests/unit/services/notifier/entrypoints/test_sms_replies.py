"""A reply of 1, 2 or 3 to a decision update by SMS answers "Did this make a difference?",
through Twilio's and GOV.UK Notify's inbound callbacks, and shows in the outcome chain."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest
import sqlalchemy as sa

from services.notifier.adapters.tables import recipients
from services.notifier.service_layer.phone_lookups import rekey_phone_lookups
from shared.rules.constants import OUTCOME_RATED
from tests.support import factories
from tests.support.api import ApiClient
from tests.support.providers import twilio_signature
from tests.unit.services.notifier.entrypoints.conftest import NOTIFIER_URL, NOTIFY_CALLBACK_TOKEN, TWILIO_AUTH_TOKEN

PHONE = "07700 900123"
TWILIO_FROM = "+447700900123"  # the same number, as Twilio gives it
NOTIFY_FROM = "447700900123"  # and as GOV.UK Notify does


@pytest.fixture
def board(decisions_pages, council) -> ApiClient:
    return ApiClient(decisions_pages, council, role="board")


@pytest.fixture
def phone() -> str:
    return PHONE


@pytest.fixture
def told_by_sms(intake_api, engagement, board, notifier, relay, phone):
    """A participant who chose SMS, told of a decision on their contribution."""
    participant = intake_api.post(
        "/v1/participants", json=factories.participant_payload(preferred_channel="sms", phone=phone)
    ).get_json()["id"]
    payload = factories.contribution_payload(engagement["id"], participant_id=participant)
    del payload["participant"]
    contribution = intake_api.post("/v1/contributions", json=payload).get_json()
    relay.deliver()
    board_id = board.as_("staff").post("/v1/boards", json=factories.board_payload()).get_json()["id"]
    decision = factories.decision_payload(board_id, links=[factories.link_payload(contribution["id"])])
    assert board.post("/v1/decisions", json=decision).status_code == 201
    relay.deliver()
    notifier.extensions["notifier"].sender.send_due()
    relay.deliver()
    return contribution


def twilio_reply(client, body: str, sender: str = TWILIO_FROM, auth_token: str = TWILIO_AUTH_TOKEN):
    form = {"From": sender, "Body": body, "To": "+447700900999", "MessageSid": "SM" + "0" * 32}
    signature = twilio_signature(f"{NOTIFIER_URL}/v1/callbacks/twilio/inbound", form, auth_token)
    return client.post("/v1/callbacks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})


def notify_reply(client, text: str, sender: str = NOTIFY_FROM, token: str = NOTIFY_CALLBACK_TOKEN):
    message = {
        "id": "1f0c1a47-0c3b-4d1e-9c77-13a4ef0b2b11",
        "source_number": sender,
        "destination_number": "07700900999",
        "message": text,
        "date_received": "2026-11-22 10:00:00.000000",
    }
    return client.post("/v1/callbacks/notify/inbound", json=message, headers={"Authorization": f"Bearer {token}"})


def rating_in_chain(board: ApiClient, contribution_id: str) -> dict | None:
    return board.get(f"/v1/contributions/{contribution_id}/outcome-chain").get_json()["rating"]


def test_a_decision_update_by_sms_asks_for_a_reply_and_an_acknowledgement_does_not(told_by_sms, providers):
    acknowledgement, update = providers["sms"].sent

    assert "Reply 1 if this made a difference, 2 if partly, 3 if not." in update.sms
    assert update.sms.endswith("/status/" + update.sms.rsplit("/status/", 1)[1])  # the link stays last
    assert "Reply 1" not in acknowledgement.sms


def test_a_twilio_reply_of_1_rates_the_contribution_yes(told_by_sms, notifier_pages, board, relay):
    response = twilio_reply(notifier_pages, " 1 yes")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response></Response>" in response.get_data(as_text=True)  # no reply is sent back
    [rated] = relay.announced("notifier", type_=OUTCOME_RATED)
    assert rated["data"]["contribution_id"] == told_by_sms["id"]
    assert rated["data"]["channel"] == "sms"
    assert rated["data"]["rating"] == "yes"
    relay.deliver()
    assert {k: rating_in_chain(board, told_by_sms["id"])[k] for k in ("rating", "channel")} == {
        "rating": "yes",
        "channel": "sms",
    }


def test_a_notify_reply_of_3_rates_the_contribution_no(told_by_sms, notifier_pages, board, relay):
    response = notify_reply(notifier_pages, "3")

    assert response.status_code == 200
    relay.deliver()
    assert rating_in_chain(board, told_by_sms["id"])["rating"] == "no"


@pytest.mark.parametrize(
    ("text", "sender"),
    [("Thanks, that's great", TWILIO_FROM), ("12", TWILIO_FROM), ("4", TWILIO_FROM), ("1", "+447700900555")],
)
def test_anything_else_is_ignored_and_logged_without_the_number_or_text(
    told_by_sms, notifier_pages, board, relay, caplog, text, sender
):
    with caplog.at_level(logging.INFO):
        assert twilio_reply(notifier_pages, text, sender=sender).status_code == 200

    assert relay.announced("notifier", type_=OUTCOME_RATED) == []
    relay.deliver()
    assert rating_in_chain(board, told_by_sms["id"]) is None
    standard = {*vars(logging.makeLogRecord({})), "message"}
    said = [
        (record.getMessage(), {k: v for k, v in vars(record).items() if k not in standard})
        for record in caplog.records
        if record.name.startswith("services.")
    ]
    assert [message for message, _ in said] == [
        "SMS reply ignored: not 1, 2 or 3, or no decision update went to that number"
    ]
    assert [extra for _, extra in said] == [{}]  # nothing beside the message: no number, no text


def test_a_reply_needs_the_providers_signature_or_token(told_by_sms, notifier_pages, relay):
    assert twilio_reply(notifier_pages, "1", auth_token="not-the-token").status_code == 401
    assert notify_reply(notifier_pages, "1", token="not-the-token").status_code == 401
    assert relay.announced("notifier", type_=OUTCOME_RATED) == []


def test_the_number_is_kept_only_as_a_keyed_hash(told_by_sms, notifier):
    with notifier.engine.connect() as connection:
        [row] = connection.execute(sa.select(recipients)).mappings().all()
    assert row["phone_lookup"] and len(row["phone_lookup"]) == 64
    assert not any("900123" in str(value) for value in row.values())


@pytest.mark.parametrize("phone", ["+44 (0)7700 900123", "07700 900123", "+447700900123", "(07700) 900-123"])
def test_however_the_number_was_written_the_reply_from_it_is_matched(phone, told_by_sms, notifier_pages, board, relay):
    assert notify_reply(notifier_pages, "1").status_code == 200
    relay.deliver()

    assert rating_in_chain(board, told_by_sms["id"])["rating"] == "yes"


def _legacy_lookup(secret: str, digits: str) -> str:
    """A lookup as the notifier once worked it out, from the number reduced by hand to digits."""
    key = hmac.new(secret.encode(), b"outcome-chain phone lookup", hashlib.sha256).digest()
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


def test_a_lookup_from_the_old_reading_of_a_number_is_rekeyed_so_its_replies_match(
    told_by_sms, notifier, notifier_pages, board, relay
):
    # Stored before numbers were read with phonenumbers: "+44 (0)7700 900123" as typed, and
    # its lookup worked out from 4407700900123, which no reply's sender ever reduces to.
    secret = notifier.settings.link_signing_secret
    with notifier.engine.begin() as connection:
        sealed = connection.execute(sa.select(recipients.c.contact_sealed)).scalar_one()
        contact = {**notifier.sealer.open(sealed), "phone": "+44 (0)7700 900123"}
        connection.execute(
            recipients.update().values(
                contact_sealed=notifier.sealer.seal(contact), phone_lookup=_legacy_lookup(secret, "4407700900123")
            )
        )
    notify_reply(notifier_pages, "1")
    relay.deliver()
    assert rating_in_chain(board, told_by_sms["id"]) is None  # unmatched, as it was

    report = rekey_phone_lookups(notifier.uow, secret)
    again = rekey_phone_lookups(notifier.uow, secret)

    assert (report.checked, report.rewritten, again.rewritten) == (1, 1, 0)
    notify_reply(notifier_pages, "1")
    relay.deliver()
    assert rating_in_chain(board, told_by_sms["id"])["rating"] == "yes"
