"""The staff workspace's use cases: engagements at a glance, contributions found by their
filters, one contribution's whole chain, and the duplicate check before recording one on
someone's behalf. Plain data for the pages; writes go through services.py like the API's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.intake.adapters.workspace import ContributionFilter
from services.intake.domain import model
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.rules.domain import UK, required

ENGAGEMENT_STATES = ("overdue", "open", "closed")


@dataclass(frozen=True)
class EngagementRow:
    engagement: model.Engagement
    state: str  # overdue (open, past its feedback date), open, or closed


def engagement_state(engagement: model.Engagement, today: dt.date) -> str:
    if engagement.closed_at is not None:
        return "closed"
    return "overdue" if engagement.feedback_due < today else "open"


def engagements_at_a_glance(uow: IntakeUnitOfWork, tenant: str, *, today: dt.date, limit: int = 500) -> list:
    """Every engagement (up to `limit`), overdue first, then open, then closed; within each,
    the soonest feedback date first."""
    with uow:
        found, _total = uow.engagements.list(tenant, offset=0, limit=limit)
    rows = [EngagementRow(e, engagement_state(e, today)) for e in found]
    return sorted(rows, key=lambda row: (ENGAGEMENT_STATES.index(row.state), row.engagement.feedback_due))


def find_contributions(
    uow: IntakeUnitOfWork, where: ContributionFilter, *, page: int, per_page: int
) -> tuple[list, int]:
    with uow:
        if where.engagement_id:
            required(uow.engagements.get(where.tenant, where.engagement_id), "engagement")
        return uow.workspace.find_contributions(where, offset=(page - 1) * per_page, limit=per_page)


def filter_choices(uow: IntakeUnitOfWork, tenant: str) -> dict:
    with uow:
        return {
            "engagements": uow.outcomes.engagement_choices(tenant),
            "languages": sorted(uow.workspace.languages_in_use(tenant)),
        }


def contribution_chain(uow: IntakeUnitOfWork, tenant: str, contribution_id: str) -> dict:
    """The contribution, who gave it (their preferences and contact details), its
    engagement, and what became of it: decisions, resource changes, messages and receipts."""
    with uow:
        contribution = required(uow.contributions.get(tenant, contribution_id), "contribution")
        chain = uow.workspace.chain_of(tenant, contribution_id)
        return {
            "contribution": contribution,
            "participant": uow.participants.get(tenant, contribution.participant_id),
            "engagement": uow.engagements.get(tenant, contribution.engagement_id),
            **chain,
        }


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _same_person(known: model.Participant, contact: dict) -> bool:
    """The same name, email, phone or case-system reference (any given one that matches)."""
    pairs = (
        (known.external_ref, contact.get("external_ref")),
        (known.contact.email, contact.get("email")),
        (known.contact.phone, contact.get("phone")),
        (known.contact.name, contact.get("name")),
    )
    given = [(ours, theirs) for ours, theirs in pairs if theirs]
    return bool(given) and all(ours and ours.casefold() == theirs.casefold() for ours, theirs in given)


def recorded_today(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> list[str]:
    """References of contributions received today (the UK date) with the same words from
    the same person as `data` (a contribution as ContributionSchema loads it)."""
    today = now.astimezone(UK).date()
    midnight = dt.datetime.combine(today, dt.time(0), tzinfo=UK)
    with uow:
        same_words = [
            row for row in uow.workspace.recorded_texts_since(tenant, midnight) if _same_words(row.text, data["text"])
        ]
        found = []
        for row in same_words:
            if data.get("participant_id"):
                if row.participant_id == data["participant_id"]:
                    found.append(row.reference)
                continue
            known = uow.participants.get(tenant, row.participant_id)
            if known is not None and _same_person(known, data.get("participant") or {}):
                found.append(row.reference)
    return sorted(found)
