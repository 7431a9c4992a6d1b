"""A contribution's status, derived from its chain and never typed in.

Decisions derives it for the outcome chain; intake keeps it on each contribution from
decisions' and the notifier's events. Both call `contribution_status`, so a contribution
reads the same status whichever service is asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from shared.rules.constants import OUTCOME_MESSAGE_KINDS, STATUS_DELIVERED, STATUS_SENT

# Outcomes that settle a contribution (deferred does not: it is still being considered).
FINAL_OUTCOMES = ("adopted", "partly_adopted", "not_adopted", "out_of_scope")


@dataclass(frozen=True)
class ChainFacts:
    """What is known of one contribution's chain, for deriving its status."""

    feedback_due: dt.date | None
    outcomes: tuple[str, ...]  # of the decisions it is linked to (active links only)
    resource_statuses: tuple[str, ...]  # of those decisions' resource changes
    feedback_delivered: bool


def told_outcome(kind: str, status: str) -> bool:
    """Handed over for delivery, and about what was decided: an acknowledgement does not close
    the loop. `sent` counts as well as `delivered`, because email over SMTP never reports
    delivery: a mail server accepting the message is the most a council can know."""
    return status in (STATUS_SENT, STATUS_DELIVERED) and kind in OUTCOME_MESSAGE_KINDS


def derive_status(facts: ChainFacts, today: dt.date) -> str:
    final = [outcome for outcome in facts.outcomes if outcome in FINAL_OUTCOMES]
    if not final:
        if facts.feedback_due is not None and today > facts.feedback_due:
            return "overdue"
        return "under_consideration" if facts.outcomes else "received"
    open_changes = [s for s in facts.resource_statuses if s not in ("implemented", "cancelled")]
    if facts.resource_statuses and not open_changes and "implemented" in facts.resource_statuses:
        return "closed" if facts.feedback_delivered else "implemented"
    if not open_changes and facts.feedback_delivered and len(final) == len(facts.outcomes):
        return "closed"
    return "decided"


def contribution_status(
    *,
    feedback_due: dt.date | None,
    outcomes: Iterable[str],
    resource_statuses: Iterable[str],
    messages: Iterable[tuple[str, str]],
    today: dt.date,
) -> str:
    """The status of one contribution from its chain: the outcomes of the decisions it is
    actively linked to, their resource changes' statuses, and the (kind, status) of the
    messages sent to its participant about it. The one rule both services call."""
    facts = ChainFacts(
        feedback_due=feedback_due,
        outcomes=tuple(outcomes),
        resource_statuses=tuple(resource_statuses),
        feedback_delivered=any(told_outcome(kind, status) for kind, status in messages),
    )
    return derive_status(facts, today)
