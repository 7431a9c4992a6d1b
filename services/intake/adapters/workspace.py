"""What the staff workspace reads: contributions found by their filters, one contribution's
chain as intake knows it, and recordings of the same words by the same person today.

Every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.intake.adapters.tables import (
    contribution_outcomes,
    contributions,
    engagements,
    outcome_decisions,
    outcome_links,
    outcome_messages,
    outcome_resource_changes,
    participants,
)


@dataclass(frozen=True)
class ContributionFilter:
    tenant: str
    today: dt.date  # the UK date: past an engagement's feedback date with no decision is overdue
    engagement_id: str | None = None
    status: str | None = None
    type: str | None = None
    channel: str | None = None
    language: str | None = None  # the participant's language
    overdue: bool = False


class WorkspaceQueries:
    def __init__(self, session: Session):
        self.session = session

    def _found(self, where: ContributionFilter) -> sa.Select:
        query = (
            sa.select(
                contributions.c.id,
                contributions.c.reference,
                contributions.c.type,
                contributions.c.channel,
                contributions.c.status,
                contributions.c.on_behalf_of,
                contributions.c.received_at,
                contributions.c.engagement_id,
                engagements.c.title.label("engagement_title"),
                engagements.c.feedback_due,
                participants.c.language,
                contribution_outcomes.c.first_decided_at,
            )
            .select_from(
                contributions.join(engagements, engagements.c.id == contributions.c.engagement_id)
                .join(participants, participants.c.id == contributions.c.participant_id)
                .outerjoin(contribution_outcomes, contribution_outcomes.c.contribution_id == contributions.c.id)
            )
            .where(contributions.c.tenant == where.tenant)
        )
        for column, value in (
            (contributions.c.engagement_id, where.engagement_id),
            (contributions.c.status, where.status),
            (contributions.c.type, where.type),
            (contributions.c.channel, where.channel),
            (participants.c.language, where.language),
        ):
            if value:
                query = query.where(column == value)
        if where.overdue:
            query = query.where(
                engagements.c.feedback_due < where.today, contribution_outcomes.c.first_decided_at.is_(None)
            )
        return query

    def find_contributions(self, where: ContributionFilter, *, offset: int, limit: int) -> tuple[list, int]:
        """The page of contributions the filters find, newest first, and how many in all."""
        query = self._found(where)
        rows = self.session.execute(
            query.order_by(contributions.c.received_at.desc(), contributions.c.id).offset(offset).limit(limit)
        ).all()
        total = self.session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        return rows, total

    def languages_in_use(self, tenant: str) -> list[str]:
        return list(
            self.session.execute(
                sa.select(participants.c.language).where(participants.c.tenant == tenant).distinct()
            ).scalars()
        )

    def chain_of(self, tenant: str, contribution_id: str) -> dict | None:
        """The decisions linked to one contribution, their resource changes and the messages
        sent about it with their latest receipts, as intake's read model holds them."""
        owner = self.session.execute(
            sa.select(contributions.c.id).where(contributions.c.tenant == tenant, contributions.c.id == contribution_id)
        ).first()
        if owner is None:
            return None
        links = self.session.execute(
            sa.select(
                outcome_links.c.decision_id,
                outcome_links.c.linked_at,
                outcome_links.c.unlinked_at,
                outcome_decisions.c.outcome,
                outcome_decisions.c.final_since,
            )
            .join(outcome_decisions, outcome_decisions.c.decision_id == outcome_links.c.decision_id)
            .where(outcome_links.c.tenant == tenant, outcome_links.c.contribution_id == contribution_id)
            .order_by(outcome_links.c.linked_at)
        ).all()
        decision_ids = [link.decision_id for link in links]
        changes = self.session.execute(
            sa.select(outcome_resource_changes)
            .where(
                outcome_resource_changes.c.tenant == tenant, outcome_resource_changes.c.decision_id.in_(decision_ids)
            )
            .order_by(outcome_resource_changes.c.changed_at)
        ).all()
        messages = self.session.execute(
            sa.select(outcome_messages)
            .where(outcome_messages.c.tenant == tenant, outcome_messages.c.contribution_id == contribution_id)
            .order_by(outcome_messages.c.status_at)
        ).all()
        outcome = self.session.execute(
            sa.select(contribution_outcomes.c.rating, contribution_outcomes.c.rated_at).where(
                contribution_outcomes.c.contribution_id == contribution_id
            )
        ).first()
        return {"links": links, "resource_changes": changes, "messages": messages, "rating": outcome}

    def recorded_texts_since(self, tenant: str, since: dt.datetime) -> list[sa.Row]:
        """(participant_id, text) of every contribution received since `since`."""
        return self.session.execute(
            sa.select(contributions.c.participant_id, contributions.c.text, contributions.c.reference).where(
                contributions.c.tenant == tenant, contributions.c.received_at >= since
            )
        ).all()
