import datetime as dt

import pytest

from services.notifier.config import NotifierSettings, quiet_hours


def test_sms_quiet_hours_default_to_nine_till_eight_and_can_be_changed_or_turned_off(monkeypatch):
    monkeypatch.delenv("NOTIFIER_SMS_QUIET_HOURS", raising=False)
    assert NotifierSettings.from_env().sms_quiet_hours == (dt.time(21), dt.time(8))
    monkeypatch.setenv("NOTIFIER_SMS_QUIET_HOURS", "20:30-09:00")
    assert NotifierSettings.from_env().sms_quiet_hours == (dt.time(20, 30), dt.time(9))
    monkeypatch.setenv("NOTIFIER_SMS_QUIET_HOURS", "off")
    assert NotifierSettings.from_env().sms_quiet_hours is None


@pytest.mark.parametrize("value", ["21:00", "nine-eight", "08:00-08:00"])
def test_a_quiet_hours_setting_that_cannot_be_read_stops_the_notifier_starting(value):
    with pytest.raises(ValueError, match="NOTIFIER_SMS_QUIET_HOURS"):
        quiet_hours(value)
