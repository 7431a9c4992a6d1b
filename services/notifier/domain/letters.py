"""Letters by post: where one goes, and the monthly budget they are sent within.

A letter costs money, so each tenant has a budget of letters per calendar month (UK time).
Over it, a letter is not failed: it waits, and goes when the next month begins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.rules.constants import CHANNEL_EMAIL, CHANNEL_POST, CHANNEL_SMS
from shared.rules.contact_details import LETTER_ADDRESS_MIN_LINES, letter_address, phone_number_or_none
from shared.rules.domain import UK

ALL_TENANTS = "*"
OVER_BUDGET = "this month's letter budget is spent: the letter waits for next month"


@dataclass(frozen=True)
class LetterBudget:
    """Letters a month: a default for every tenant and per-tenant overrides (the setting
    LETTERS_PER_MONTH as pairs, ("*", default) first)."""

    per_tenant: tuple[tuple[str, int], ...]

    def for_tenant(self, tenant: str) -> int:
        budgets = dict(self.per_tenant)
        return budgets.get(tenant, budgets[ALL_TENANTS])

    def wait_until(self, tenant: str, sent_this_month: int, now: dt.datetime) -> dt.datetime | None:
        """None if one more letter is within the budget; otherwise when the next month begins."""
        return None if sent_this_month < self.for_tenant(tenant) else next_month_start(now)


def month_start(now: dt.datetime) -> dt.datetime:
    """The start of `now`'s calendar month in the UK, as a UTC time."""
    local = now.astimezone(UK)
    return dt.datetime(local.year, local.month, 1, tzinfo=UK).astimezone(dt.UTC)


def next_month_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(UK)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return dt.datetime(year, month, 1, tzinfo=UK).astimezone(dt.UTC)


def address_for(channel: str, contact: dict) -> str | None:
    """Where a message by `channel` goes, from a person's opened contact details: the email
    address, the mobile number in E.164, or a letter's address lines (one a line, name first,
    postcode last); None when there is none a message could go to."""
    if channel == CHANNEL_EMAIL:
        return contact.get("email")
    if channel == CHANNEL_SMS:
        # Numbers stored before they were normalised are read the same way as new ones.
        return phone_number_or_none(contact.get("phone")) or contact.get("phone")
    if channel == CHANNEL_POST:
        if not (contact.get("address_lines") and contact.get("postcode")):
            return None
        lines = letter_address(contact.get("name"), contact.get("address_lines"), contact.get("postcode"))
        return "\n".join(lines) if len(lines) >= LETTER_ADDRESS_MIN_LINES else None
    return None
