"""Who may be told what, by which channel and when: the notifier's rules, in plain Python."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import re
from dataclasses import dataclass

from shared.rules.constants import RATINGS, SENDING_CHANNELS, STATUS_DELIVERED
from shared.rules.contact_details import phone_number_or_none
from shared.rules.domain import UK

MAX_ATTEMPTS = 6
FIRST_RETRY = dt.timedelta(seconds=5)
LONGEST_RETRY = dt.timedelta(minutes=30)
QUIET_START, QUIET_END = dt.time(21, 0), dt.time(8, 0)
SMS_QUIET_HOURS = (QUIET_START, QUIET_END)


def normalised_phone(number: str) -> str | None:
    """A phone number as digits with its country code (UK when none is given), read with
    shared.rules.contact_details: the form every provider's inbound `From` reduces to, so a reply
    finds the person it came from. Digits without the `+`, as lookups have always been keyed."""
    e164 = phone_number_or_none(number)
    return e164.removeprefix("+") if e164 else None


def phone_lookup_key(secret: str, number: str | None) -> str | None:
    """A keyed hash of the number, stored beside the sealed contact so an inbound SMS can
    be matched to its sender without the number ever being kept in the clear. Keyed (HMAC),
    so the short space of phone numbers cannot be hashed through to find one."""
    phone = normalised_phone(number) if number else None
    if phone is None:
        return None
    key = hmac.new(secret.encode(), b"outcome-chain phone lookup", hashlib.sha256).digest()
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()


# A reply to a decision update: 1, 2 or 3 first, words after allowed ("1 yes", " 2. partly").
SMS_REPLY = re.compile(r"^\s*([123])(?![0-9])")


def rating_from_reply(body: str) -> str | None:
    """The answer to "Did this make a difference?" by SMS: 1 yes, 2 partly, 3 no; None otherwise."""
    found = SMS_REPLY.match(body or "")
    return RATINGS[int(found.group(1)) - 1] if found else None


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
    phone_lookup: str | None = None  # phone_lookup_key() of their number, if they gave one


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
    if recipient.preferred_channel not in SENDING_CHANNELS:
        return None, "participant chose no channel"
    return recipient.preferred_channel, None


def retry_delay(attempt: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential back-off with full jitter: 5 s, 10 s, 20 s ... up to 30 minutes."""
    ceiling = min(FIRST_RETRY * (2 ** max(0, attempt - 1)), LONGEST_RETRY)
    return ceiling * (0.5 + (rng or random).random() / 2)


def after_quiet_hours(
    now: dt.datetime, channel: str, quiet_hours: tuple[dt.time, dt.time] | None = SMS_QUIET_HOURS
) -> dt.datetime | None:
    """SMS is not sent in the quiet hours (start, end), UK time, by default 21:00 to 08:00;
    it waits for their end, it is not dropped. None: no quiet hours."""
    if channel != "sms" or quiet_hours is None:
        return None
    start, end = quiet_hours
    local = now.astimezone(UK)
    at = local.time()
    quiet = start <= at < end if start < end else (at >= start or at < end)
    if not quiet:
        return None
    day = local.date() if at < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, UK).astimezone(dt.UTC)


# SMS length: GSM 03.38 text takes 153 characters a segment (160 alone); anything else
# (Welsh ŵ and ŷ among it) goes as UCS-2, 67 a segment (70 alone).
GSM_CHARACTERS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
MAX_SMS_SEGMENTS = 3


def sms_segments(text: str) -> int:
    gsm = GSM_CHARACTERS.issuperset(text)
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


def receipt_reason(status: str, provider_status: str) -> str | None:
    """Why a message failed, in the provider's status word only (never an address or message text)."""
    return None if status == STATUS_DELIVERED else f"the provider reported {provider_status}"
