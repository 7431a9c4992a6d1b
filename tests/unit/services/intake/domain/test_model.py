"""Intake's domain rules, in plain Python."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.intake.domain import model
from shared.rules.domain import InvalidInput
from tests.support import factories

NOW = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)


def participant(**overrides) -> model.Participant:
    payload = factories.participant_payload()
    values = {
        "id": str(uuid.uuid4()),
        "tenant": "wiltshire",
        "preferred_channel": payload["preferred_channel"],
        "language": payload["language"],
        "format": payload["format"],
        "consent_to_contact": payload["consent_to_contact"],
        "contact": model.Contact(name=payload["name"], email=payload["email"], phone=payload["phone"]),
    }
    values.update(overrides)
    return model.Participant(**values)


def accepts(check, *args) -> bool:
    try:
        check(*args)
    except InvalidInput:
        return False
    return True


def refused_fields(check, *args) -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        check(*args)
    return set(caught.value.errors)


class TestReference:
    def test_is_short_and_human(self):
        assert model.reference_for("demo", 2026, 123) == "DEMO-2026-000123"

    def test_keeps_a_hyphenated_tenant_readable(self):
        assert model.reference_for("west-sussex", 2027, 1) == "WEST-SUSSEX-2027-000001"

    def test_grows_past_a_million_rather_than_wrapping(self):
        assert model.reference_for("demo", 2026, 1_234_567) == "DEMO-2026-1234567"


class TestReachable:
    def test_consent_by_email_needs_an_email_address(self):
        someone = participant(preferred_channel="email", contact=model.Contact(name="A Person"))

        assert refused_fields(someone.check_reachable) == {"email"}

    def test_consent_by_sms_needs_a_phone_number(self):
        someone = participant(preferred_channel="sms", contact=model.Contact(email="a@example.org"))

        assert refused_fields(someone.check_reachable) == {"phone"}

    @pytest.mark.parametrize("channel", ["email", "sms"])
    def test_consent_with_the_address_the_channel_needs_is_fine(self, channel):
        assert accepts(participant(preferred_channel=channel).check_reachable)

    def test_consent_to_no_channel_needs_no_details(self):
        assert accepts(participant(preferred_channel="none", contact=model.Contact()).check_reachable)

    @pytest.mark.parametrize("channel", ["email", "sms", "none"])
    def test_no_consent_needs_no_details(self, channel):
        silent = participant(preferred_channel=channel, consent_to_contact=False, contact=model.Contact())

        assert accepts(silent.check_reachable)


class TestSameDetails:
    def test_an_identical_copy_has_the_same_details(self):
        someone = participant()
        copy = participant(id=someone.id, contact=model.Contact(**vars(someone.contact)))

        assert someone.same_details_as(copy)

    @pytest.mark.parametrize(
        "change",
        [{"language": "cy"}, {"format": "easy_read"}, {"consent_to_contact": False}, {"preferred_channel": "sms"}],
    )
    def test_a_changed_preference_is_a_change(self, change):
        someone = participant()
        changed = participant(**{**vars(someone), **change})

        assert not someone.same_details_as(changed)

    def test_a_changed_email_is_a_change(self):
        someone = participant()
        moved = participant(contact=model.Contact(name=someone.contact.name, email="new@example.org"))

        assert not someone.same_details_as(moved)


class TestSubmittedAt:
    def test_a_time_in_the_past_is_accepted(self):
        assert accepts(model.check_submitted_at, NOW - dt.timedelta(days=3), NOW)

    @pytest.mark.parametrize("ahead", [dt.timedelta(seconds=30), dt.timedelta(minutes=5)])
    def test_a_clock_a_little_ahead_of_ours_is_tolerated(self, ahead):
        assert accepts(model.check_submitted_at, NOW + ahead, NOW)

    def test_a_time_beyond_the_allowed_skew_is_refused(self):
        assert refused_fields(model.check_submitted_at, NOW + dt.timedelta(minutes=5, seconds=1), NOW) == {
            "submitted_at"
        }

    def test_the_same_instant_in_another_zone_is_not_the_future(self):
        assert accepts(model.check_submitted_at, NOW.astimezone(dt.timezone(dt.timedelta(hours=1))), NOW)


class TestFeedbackDue:
    def test_yesterday_is_refused(self):
        assert refused_fields(model.check_feedback_due, NOW.date() - dt.timedelta(days=1), NOW.date()) == {
            "feedback_due"
        }

    @pytest.mark.parametrize("days_ahead", [0, 1, 60])
    def test_today_or_later_is_accepted(self, days_ahead):
        assert accepts(model.check_feedback_due, NOW.date() + dt.timedelta(days=days_ahead), NOW.date())
