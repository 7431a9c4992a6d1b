from __future__ import annotations

import datetime as dt
import random

from services.notifier.domain.model import (
    LONGEST_RETRY,
    UK,
    Recipient,
    after_quiet_hours,
    channel_for,
    retry_delay,
    sms_segments,
)


def recipient(**overrides) -> Recipient:
    values = dict(
        participant_id="p1",
        tenant="demo",
        contact_sealed="sealed",
        preferred_channel="email",
        language="en",
        format="standard",
        consent_to_contact=True,
        updated_at=dt.datetime.now(dt.UTC),
    )
    values.update(overrides)
    return Recipient(**values)


def test_who_may_be_told_and_why_not():
    now = dt.datetime.now(dt.UTC)
    assert channel_for(recipient()) == ("email", None)
    assert channel_for(recipient(preferred_channel="sms")) == ("sms", None)
    assert channel_for(None) == (None, None)  # not known yet: wait
    assert channel_for(recipient(consent_to_contact=False)) == (None, "participant did not consent to contact")
    assert channel_for(recipient(preferred_channel="none")) == (None, "participant chose no channel")
    assert channel_for(recipient(unsubscribed_at=now)) == (None, "participant unsubscribed")
    assert channel_for(recipient(erased_at=now)) == (None, "participant erased")


def test_retries_back_off_exponentially_with_jitter_up_to_a_ceiling():
    rng = random.Random(7)
    delays = [retry_delay(attempt, rng) for attempt in range(1, 12)]
    assert all(dt.timedelta(seconds=2.5) <= d <= LONGEST_RETRY for d in delays)
    assert delays[3] > delays[0]
    assert max(delays) <= LONGEST_RETRY


def test_sms_waits_for_the_morning_but_email_does_not():
    evening = dt.datetime(2026, 11, 20, 22, 15, tzinfo=UK)
    early = dt.datetime(2026, 11, 21, 6, 0, tzinfo=UK)
    midday = dt.datetime(2026, 11, 21, 12, 0, tzinfo=UK)
    assert after_quiet_hours(evening, "sms") == dt.datetime(2026, 11, 21, 8, 0, tzinfo=UK)
    assert after_quiet_hours(early, "sms") == dt.datetime(2026, 11, 21, 8, 0, tzinfo=UK)
    assert after_quiet_hours(midday, "sms") is None
    assert after_quiet_hours(evening, "email") is None


def test_segments_count_gsm_and_unicode_text_differently():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("ŵ" * 70) == 1
    assert sms_segments("ŵ" * 71) == 2


def test_a_council_can_set_its_own_sms_quiet_hours_or_none():
    evening = dt.datetime(2026, 11, 20, 22, 15, tzinfo=UK)
    lunch = dt.datetime(2026, 11, 21, 12, 30, tzinfo=UK)
    assert after_quiet_hours(evening, "sms", None) is None
    assert after_quiet_hours(lunch, "sms", (dt.time(12), dt.time(13))) == dt.datetime(2026, 11, 21, 13, 0, tzinfo=UK)
    assert after_quiet_hours(evening, "sms", (dt.time(12), dt.time(13))) is None
    assert after_quiet_hours(evening, "sms", (dt.time(23), dt.time(7))) is None
