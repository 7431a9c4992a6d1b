"""Letters within each tenant's monthly budget: how many went this month, and holding one
that would go over until the next month begins (it waits, it is not failed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.notifier.domain.letters import OVER_BUDGET, LetterBudget, month_start
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.constants import CHANNEL_POST, STATUS_CREATED


def over_budget_until(
    uow_factory: Callable[..., NotifierUnitOfWork], budget: LetterBudget, tenant: str, now: dt.datetime
) -> dt.datetime | None:
    """None if the tenant may send one more letter now; else when its next month begins."""
    with uow_factory(read_only=True) as uow:
        sent = uow.notifications.handed_over_since(tenant, CHANNEL_POST, month_start(now))
    return budget.wait_until(tenant, sent, now)


def hold_letter(
    uow_factory: Callable[..., NotifierUnitOfWork], notification: dict, until: dt.datetime, now: dt.datetime
) -> None:
    """Queue the letter again for `until`, saying why it waits; no attempt is counted."""
    with uow_factory() as uow:
        uow.notifications.update(
            notification["id"],
            status=STATUS_CREATED,
            channel=CHANNEL_POST,
            next_attempt_at=until,
            reason=OVER_BUDGET,
            updated_at=now,
        )
        uow.commit()


def letters_waiting(uow: NotifierUnitOfWork, tenant: str) -> int:
    """How many of a tenant's letters wait for next month's budget."""
    with uow:
        return uow.notifications.count_waiting(tenant, CHANNEL_POST, OVER_BUDGET)
