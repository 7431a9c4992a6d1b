"""The notifier's own settings: a view onto shared/infra/settings.py, where each is declared."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.infra.settings import BY_NAME, Settings


@dataclass(frozen=True)
class NotifierSettings:
    notify_api_key: str | None
    notify_base_url: str
    notify_sms_template_id: str | None
    notify_email_template_id: str | None
    notify_letter_template_id: str | None
    letters_per_month: tuple[tuple[str, int], ...]
    notify_callback_token: str | None
    notify_per_minute: int
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from: str | None
    twilio_base_url: str
    public_url: str
    send_interval: float
    lease_seconds: float
    digest_seconds: float
    sms_quiet_hours: tuple[dt.time, dt.time] | None

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierSettings:
        return cls(
            notify_api_key=settings.notify_api_key,
            notify_base_url=settings.notify_base_url,
            notify_sms_template_id=settings.notify_sms_template_id,
            notify_email_template_id=settings.notify_email_template_id,
            notify_letter_template_id=settings.notify_letter_template_id,
            letters_per_month=settings.letters_per_month,
            notify_callback_token=settings.notify_callback_token,
            notify_per_minute=settings.notify_per_minute,
            twilio_account_sid=settings.twilio_account_sid,
            twilio_auth_token=settings.twilio_auth_token,
            twilio_from=settings.twilio_from,
            twilio_base_url=settings.twilio_base_url,
            public_url=settings.notifier_public_url,
            send_interval=settings.send_interval,
            lease_seconds=settings.lease_seconds,
            digest_seconds=settings.digest_seconds,
            sms_quiet_hours=settings.sms_quiet_hours,
        )

    @classmethod
    def from_env(cls) -> NotifierSettings:
        return cls.from_settings(Settings.from_env(env_file=None))


def quiet_hours(value: str) -> tuple[dt.time, dt.time] | None:
    """`HH:MM-HH:MM` (UK time; may run past midnight), or `off` for none; SettingsError (a
    ValueError) naming NOTIFIER_SMS_QUIET_HOURS otherwise."""
    return BY_NAME["NOTIFIER_SMS_QUIET_HOURS"].read(value)
