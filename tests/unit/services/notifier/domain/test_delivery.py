"""What the sender does with one claimed message, decided from what is known of it."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifier.domain.delivery import LOOK_AGAIN, Facts, Fail, Send, Wait, Withhold, decide
from shared.rules.constants import MESSAGE_ACKNOWLEDGEMENT, MESSAGE_DECISION_LINKED
from shared.rules.domain import UK
from tests.unit.services.notifier.domain.test_model import recipient

PATIENCE = dt.timedelta(hours=1)
QUIET = (dt.time(21, 0), dt.time(8, 0))
CONTACT = {"email": "someone@example.org", "phone": "+447700900123"}


def at_uk(hour: int) -> dt.datetime:
    """Today at this hour, UK time (the rule reads the UK clock, whatever the machine's)."""
    return dt.datetime.combine(dt.datetime.now(UK).date(), dt.time(hour), UK).astimezone(dt.UTC)


def message(kind: str = MESSAGE_DECISION_LINKED, *, created_at: dt.datetime) -> dict:
    return {"id": "n-1", "kind": kind, "created_at": created_at}


def known(**recipient_overrides) -> Facts:
    return Facts(recipient(**recipient_overrides), {"engagement_id": "e-1"}, {"id": "e-1"})


def decided(facts: Facts, *, kind=MESSAGE_DECISION_LINKED, now=None, created_at=None, contact=CONTACT):
    now = now or at_uk(12)
    opened = []

    def open_contact() -> dict:
        opened.append(True)
        return contact

    step = decide(
        message(kind, created_at=created_at or now),
        facts,
        open_contact,
        now=now,
        patience=PATIENCE,
        quiet_hours=QUIET,
    )
    return step, bool(opened)


def test_a_known_person_who_may_be_told_is_sent_to_on_their_channel():
    assert decided(known()) == (Send("email", CONTACT["email"]), True)
    assert decided(known(preferred_channel="sms")) == (Send("sms", CONTACT["phone"]), True)


def test_a_person_who_may_not_be_told_is_withheld_without_opening_their_details():
    assert decided(known(unsubscribed_at=at_uk(9))) == (Withhold("participant unsubscribed"), False)


def test_a_message_for_someone_not_known_yet_waits_then_fails_after_the_patience():
    now = at_uk(12)
    unknown = Facts(None, None, None)

    assert decided(unknown, now=now) == (Wait(now + LOOK_AGAIN), False)
    assert decided(unknown, now=now, created_at=now - PATIENCE - dt.timedelta(seconds=1)) == (
        Fail("gave up waiting for the participant details"),
        False,
    )


def test_an_acknowledgement_waits_for_its_contribution_and_engagement():
    now = at_uk(12)
    step, _ = decided(Facts(recipient(), None, None), kind=MESSAGE_ACKNOWLEDGEMENT, now=now)
    assert step == Wait(now + LOOK_AGAIN)


@pytest.mark.parametrize(("hour", "waits_until_8"), [(22, True), (12, False)])
def test_an_sms_waits_out_the_quiet_hours_but_an_email_does_not(hour, waits_until_8):
    step, _ = decided(known(preferred_channel="sms"), now=at_uk(hour))
    assert isinstance(step, Wait) is waits_until_8
    if waits_until_8:
        assert (step.until.astimezone(UK).time(), step.channel) == (dt.time(8, 0), "sms")
    assert decided(known(), now=at_uk(hour))[0] == Send("email", CONTACT["email"])


def test_no_address_on_the_chosen_channel_fails_naming_it():
    step, _ = decided(known(preferred_channel="sms"), contact={"email": "someone@example.org"})
    assert step == Fail("no sms address for this participant", "sms")
