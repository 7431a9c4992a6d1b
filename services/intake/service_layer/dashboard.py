"""The staff dashboard: feedback coverage, speed, the overdue list, outcomes by type, and
whose voices lead to change, by equality-monitoring group. Plain dicts, for the page and
the JSON report alike."""

from __future__ import annotations

import datetime as dt

from services.intake.adapters.outcomes import DashboardFilter
from services.intake.domain import dashboard as stats
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.rules.domain import UK, NotFound


def _uk_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=UK)


def dashboard(
    uow: IntakeUnitOfWork,
    tenant: str,
    *,
    engagement_id: str | None = None,
    service_area: str | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    today: dt.date,
) -> dict:
    """The period is of when contributions were received, both days included (UK dates)."""
    where = DashboardFilter(
        tenant=tenant,
        engagement_id=engagement_id,
        service_area=service_area,
        received_from=_uk_midnight(period_from) if period_from else None,
        received_until=_uk_midnight(period_to + dt.timedelta(days=1)) if period_to else None,
    )
    with uow:
        if engagement_id and uow.engagements.get(tenant, engagement_id) is None:
            raise NotFound("engagement")
        rows = uow.outcomes.dashboard_rows(where)
        letters_held = uow.outcomes.letters_held(tenant)
    facts = [
        stats.ContributionFacts(
            id=row.id,
            reference=row.reference,
            type=row.type,
            participant_id=row.participant_id,
            engagement_id=row.engagement_id,
            engagement_title=row.engagement_title,
            feedback_due=row.feedback_due,
            received_at=row.received_at,
            first_decided_at=row.first_decided_at,
            latest_outcome=row.latest_outcome,
            feedback_delivered_at=row.feedback_delivered_at,
            rating=row.rating,
            equality=uow.sealer.open(row.answers_sealed) if row.answers_sealed else {},
        )
        for row in rows
    ]
    return {
        "filters": {
            "engagement_id": engagement_id,
            "service_area": service_area,
            "from": period_from.isoformat() if period_from else None,
            "to": period_to.isoformat() if period_to else None,
        },
        "coverage": stats.coverage(facts),
        "overdue": stats.overdue(facts, today),
        "outcomes_by_type": stats.outcomes_by_type(facts),
        "equality": stats.equality_breakdown(facts),
        "letters": {"held": letters_held},
    }


def filter_choices(uow: IntakeUnitOfWork, tenant: str) -> dict:
    """The council's engagements and service areas, to filter by."""
    with uow:
        engagements = uow.outcomes.engagement_choices(tenant)
    return {
        "engagements": [{"id": e.id, "title": e.title} for e in engagements],
        "service_areas": sorted({e.service_area for e in engagements}),
    }
