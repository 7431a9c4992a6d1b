"""What to do with one claimed message, from what is known of its person and story.

Plain rules, no I/O: the sender gathers the facts, asks `decide`, then renders, delivers
and records what it was told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from services.notifier.domain.letters import address_for
from services.notifier.domain.model import Recipient, after_quiet_hours, channel_for
from shared.rules.constants import MESSAGE_ACKNOWLEDGEMENT

# A message waiting for its participant's or engagement's event looks again this soon.
LOOK_AGAIN = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class Facts:
    """What one message needs to be decided and rendered, read once with its batch."""

    recipient: Recipient | None
    contribution: dict | None
    engagement: dict | None


@dataclass(frozen=True)
class Withhold:
    reason: str


@dataclass(frozen=True)
class Fail:
    reason: str
    channel: str | None = None


@dataclass(frozen=True)
class Wait:
    """Try again at `until`, without counting an attempt."""

    until: dt.datetime
    channel: str | None = None


@dataclass(frozen=True)
class Send:
    channel: str
    address: str


Step = Withhold | Fail | Wait | Send


def decide(
    notification: dict,
    facts: Facts,
    contact: Callable[[], dict],
    *,
    now: dt.datetime,
    patience: dt.timedelta,
    quiet_hours: tuple[dt.time, dt.time] | None,
) -> Step:
    """Withhold (the person may not be contacted), wait (for their details, or the end of the
    quiet hours), fail (no address, or gave up waiting) or send, on which channel, to whom.
    `contact()` opens the recipient's contact details, only once the message may go."""
    channel, withheld = channel_for(facts.recipient)
    if withheld:
        return Withhold(withheld)
    waiting_for = _waiting_for(notification, facts)
    if waiting_for:
        if now - notification["created_at"] > patience:
            return Fail(f"gave up waiting for the {waiting_for} details")
        return Wait(now + LOOK_AGAIN)
    morning = after_quiet_hours(now, channel, quiet_hours)
    if morning is not None:
        return Wait(morning, channel)
    details = contact()
    address = address_for(channel, details)
    if not address:
        return Fail(f"no {channel} address for this participant", channel)
    return Send(channel, address)


def _waiting_for(notification: dict, facts: Facts) -> str | None:
    if facts.recipient is None:
        return "participant"
    if notification["kind"] == MESSAGE_ACKNOWLEDGEMENT and (facts.contribution is None or facts.engagement is None):
        return "contribution or engagement"
    return None
