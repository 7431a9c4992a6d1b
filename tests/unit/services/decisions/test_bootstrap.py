"""What decisions tells an operator on /metrics: contributions overdue, by council."""

from __future__ import annotations

import datetime as dt

from shared.rules.domain import UK
from tests.support.api import scrape


def overdue_line(decisions_api, tenant: str) -> str | None:
    text = scrape(decisions_api.client).get_data(as_text=True)
    prefix = f'contributions_overdue{{service="decisions",tenant="{tenant}"}}'
    return next((line.removeprefix(prefix).strip() for line in text.splitlines() if line.startswith(prefix)), None)


def test_undecided_contributions_past_their_feedback_date_are_counted_for_the_operator(
    decisions, decisions_api, new_contribution, engagement, council
):
    new_contribution()
    new_contribution()
    due = dt.date.fromisoformat(engagement["feedback_due"])

    decisions.clock = lambda: dt.datetime.combine(due, dt.time(12), tzinfo=UK)
    assert overdue_line(decisions_api, council.slug) is None

    decisions.clock = lambda: dt.datetime.combine(due + dt.timedelta(days=1), dt.time(12), tzinfo=UK)
    assert overdue_line(decisions_api, council.slug) == "2.0"
