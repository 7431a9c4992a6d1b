"""Who may be told what, by which channel and when: the notifier's rules, in plain Python."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from shared.domain import UK

MAX_ATTEMPTS = 6
FIRST_RETRY = dt.timedelta(seconds=5)
LONGEST_RETRY = dt.timedelta(minutes=30)
QUIET_START, QUIET_END = dt.time(21, 0), dt.time(8, 0)


@dataclass
class Recipient:
    """What the notifier keeps of a participant: preferences, and contact details sealed."""

    participant_id: str
    tenant: str
    contact_sealed: str | None
    preferred_channel: str
    language: str
    format: str
    consent_to_contact: bool
    updated_at: dt.datetime
    unsubscribed_at: dt.datetime | None = None
    erased_at: dt.datetime | None = None


def channel_for(recipient: Recipient | None) -> tuple[str | None, str | None]:
    """(channel, None) when a message may go, else (None, why not)."""
    if recipient is None:
        return None, None  # not known yet: wait, do not decide
    if recipient.erased_at is not None:
        return None, "participant erased"
    if not recipient.consent_to_contact:
        return None, "participant did not consent to contact"
    if recipient.unsubscribed_at is not None:
        return None, "participant unsubscribed"
    if recipient.preferred_channel not in ("email", "sms"):
        return None, "participant chose no channel"
    return recipient.preferred_channel, None


def retry_delay(attempt: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential back-off with full jitter: 5 s, 10 s, 20 s ... up to 30 minutes."""
    ceiling = min(FIRST_RETRY * (2 ** max(0, attempt - 1)), LONGEST_RETRY)
    return ceiling * (0.5 + (rng or random).random() / 2)


def after_quiet_hours(now: dt.datetime, channel: str) -> dt.datetime | None:
    """SMS is not sent between 21:00 and 08:00 UK time; it waits, it is not dropped."""
    if channel != "sms":
        return None
    local = now.astimezone(UK)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    morning = local.date() if local.time() < QUIET_END else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(morning, QUIET_END, UK).astimezone(dt.UTC)


# SMS length: GSM 03.38 text takes 153 characters a segment (160 alone); anything else
# (Welsh ŵ and ŷ among it) goes as UCS-2, 67 a segment (70 alone).
GSM_CHARACTERS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
MAX_SMS_SEGMENTS = 3


def sms_segments(text: str) -> int:
    gsm = all(character in GSM_CHARACTERS for character in text)
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


def fit_sms(text: str, keep_tail: str) -> str:
    """Shorten `text` (never the link in `keep_tail`) so the whole fits three segments."""
    whole = f"{text}\n{keep_tail}"
    if sms_segments(whole) <= MAX_SMS_SEGMENTS:
        return whole
    body = text
    while body and sms_segments(f"{body}…\n{keep_tail}") > MAX_SMS_SEGMENTS:
        body = body[: max(0, len(body) - 10)].rstrip()
    return f"{body}…\n{keep_tail}"
