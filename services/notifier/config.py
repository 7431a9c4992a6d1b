"""The notifier's own settings (contract.md lists the provider ones)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from services.notifier.domain.model import SMS_QUIET_HOURS


@dataclass(frozen=True)
class NotifierSettings:
    notify_api_key: str | None
    notify_base_url: str
    notify_sms_template_id: str | None
    notify_email_template_id: str | None
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
    def from_env(cls) -> NotifierSettings:
        env = os.environ
        return cls(
            notify_api_key=env.get("NOTIFY_API_KEY") or None,
            notify_base_url=env.get("NOTIFY_BASE_URL") or "https://api.notifications.service.gov.uk",
            notify_sms_template_id=env.get("NOTIFY_SMS_TEMPLATE_ID") or None,
            notify_email_template_id=env.get("NOTIFY_EMAIL_TEMPLATE_ID") or None,
            notify_callback_token=env.get("NOTIFY_CALLBACK_TOKEN") or None,
            notify_per_minute=int(env.get("NOTIFY_RATE_PER_MINUTE") or 3000),  # GOV.UK Notify's limit per key
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_from=env.get("TWILIO_FROM") or None,
            twilio_base_url=env.get("TWILIO_BASE_URL") or "https://api.twilio.com",
            public_url=env.get("NOTIFIER_PUBLIC_URL") or f"http://127.0.0.1:{env.get('NOTIFIER_PORT') or 8003}",
            send_interval=float(env.get("NOTIFIER_SEND_INTERVAL") or 0.2),
            lease_seconds=float(env.get("NOTIFIER_LEASE_SECONDS") or 60),
            digest_seconds=float(env.get("NOTIFIER_DIGEST_SECONDS") or 0),
            sms_quiet_hours=quiet_hours(env["NOTIFIER_SMS_QUIET_HOURS"])
            if env.get("NOTIFIER_SMS_QUIET_HOURS")
            else SMS_QUIET_HOURS,
        )


def quiet_hours(value: str) -> tuple[dt.time, dt.time] | None:
    """`HH:MM-HH:MM` (UK time; may run past midnight), or `off` for none."""
    if value.strip().lower() == "off":
        return None
    start, separator, end = value.partition("-")
    try:
        window = dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())
    except ValueError:
        window = None
    if not separator or window is None or window[0] == window[1]:
        raise ValueError(f"NOTIFIER_SMS_QUIET_HOURS must be HH:MM-HH:MM (start and end differ) or off; got {value!r}")
    return window
