"""Letters within each tenant's monthly budget: how many went this month, and holding one
that would go over until the next month begins (it waits, it is not failed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.notifier.domain.letters import OVER_BUDGET, LetterBudget, month_start
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.rules.constants import CHANNEL_POST, STATUS_CREATED, STATUS_HELD


def over_budget_until(
    uow_factory: Callable[..., NotifierUnitOfWork], budget: LetterBudget, tenant: str, now: dt.datetime
) -> dt.datetime | None:
    """None if the tenant may send one more letter now; else when its next month begins."""
    with uow_factory(read_only=True) as uow:
        sent = uow.notifications.handed_over_since(tenant, CHANNEL_POST, month_start(now))
    return budget.wait_until(tenant, sent, now)


def hold_letter(
    uow_factory: Callable[..., NotifierUnitOfWork],
    notification: dict,
    until: dt.datetime,
    now: dt.datetime,
    announce: Callable[[NotifierUnitOfWork, dict, str, str], None],
) -> None:
    """Queue the letter again for `until`, saying why it waits, and tell the outcome chain it
    is held (once, through `announce(uow, notification, status, reason)`); no attempt is counted."""
    with uow_factory() as uow:
        if notification["reason"] != OVER_BUDGET:
            announce(uow, {**notification, "channel": CHANNEL_POST}, STATUS_HELD, OVER_BUDGET)
        uow.notifications.update(
            notification["id"],
            status=STATUS_CREATED,
            channel=CHANNEL_POST,
            next_attempt_at=until,
            reason=OVER_BUDGET,
            updated_at=now,
        )
        uow.commit()


def budget_report(uow: NotifierUnitOfWork, budget: LetterBudget, tenant: str, now: dt.datetime) -> dict[str, int]:
    """The tenant's letter budget, the letters sent this month, and those waiting for the next."""
    with uow:
        return {
            "letters_per_month": budget.for_tenant(tenant),
            "sent_this_month": uow.notifications.handed_over_since(tenant, CHANNEL_POST, month_start(now)),
            "waiting": uow.notifications.count_waiting(tenant, CHANNEL_POST, OVER_BUDGET),
        }
