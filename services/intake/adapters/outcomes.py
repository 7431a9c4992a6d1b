"""Intake's read model of what happened to each contribution, and the rows the dashboard counts.

Every write tolerates redelivery and events arriving out of order: rows are inserted if
absent (an upsert, so two consumers never race into an IntegrityError) and then moved
forward only by a newer version, a later time or a later status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.intake.adapters.tables import (
    contribution_outcomes,
    contributions,
    engagements,
    equality_answers,
    outcome_decisions,
    outcome_links,
    outcome_messages,
    outcome_resource_changes,
)
from shared.rules.constants import (
    MESSAGE_STATUS_RANK,
    OUTCOME_MESSAGE_KINDS,
    STATUS_DELIVERED,
    STATUS_HELD,
    STATUS_SENT,
)
from shared.rules.outcome_status import FINAL_OUTCOMES

TOLD = (STATUS_SENT, STATUS_DELIVERED)


@dataclass(frozen=True)
class DashboardFilter:
    tenant: str
    engagement_id: str | None = None
    service_area: str | None = None
    received_from: dt.datetime | None = None  # inclusive
    received_until: dt.datetime | None = None  # exclusive


@dataclass(frozen=True)
class Chain:
    """One contribution's chain as intake's read model holds it."""

    feedback_due: dt.date | None
    links: list  # active links, oldest first: decision_id, linked_at, outcome, final_since
    resource_statuses: list[str]  # of the linked decisions' resource changes
    messages: list  # rows of outcome_messages about the contribution: kind, status, sent_at


class OutcomeRepository:
    def __init__(self, session: Session):
        self.session = session

    def _insert_if_absent(self, table: sa.Table, values: dict) -> None:
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        self.session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())

    # Whose things are these ---------------------------------------------------------

    def tenant_of_contribution(self, contribution_id: str) -> str | None:
        return self.session.execute(
            sa.select(contributions.c.tenant).where(contributions.c.id == contribution_id)
        ).scalar_one_or_none()

    def tenant_of(self, table: sa.Table, key_column: str, key: str) -> str | None:
        """The tenant of a link, resource change or message intake already holds."""
        return self.session.execute(sa.select(table.c.tenant).where(table.c[key_column] == key)).scalar_one_or_none()

    # Links and decisions -------------------------------------------------------------

    def add_link(self, tenant: str, contribution_id: str, link_id: str, decision_id: str, at) -> None:
        self._insert_if_absent(
            outcome_links,
            dict(
                link_id=link_id, tenant=tenant, contribution_id=contribution_id, decision_id=decision_id, linked_at=at
            ),
        )

    def note_decision(self, tenant: str, decision_id: str, outcome: str, version: int, at) -> None:
        """A decision's outcome as of `version`: only a newer version moves it."""
        final = outcome in FINAL_OUTCOMES
        self._insert_if_absent(
            outcome_decisions,
            dict(
                decision_id=decision_id,
                tenant=tenant,
                outcome=outcome,
                version=version,
                final_since=at if final else None,
            ),
        )
        self.session.execute(
            outcome_decisions.update()
            .where(
                outcome_decisions.c.decision_id == decision_id,
                outcome_decisions.c.tenant == tenant,
                outcome_decisions.c.version < version,
            )
            .values(
                outcome=outcome,
                version=version,
                # Final since the first final version; not decided any more once deferred again.
                final_since=sa.func.coalesce(outcome_decisions.c.final_since, at) if final else None,
            )
        )

    def unlink(self, tenant: str, contribution_id: str, link_id: str, at) -> None:
        self.session.execute(
            outcome_links.update()
            .where(
                outcome_links.c.tenant == tenant,
                outcome_links.c.contribution_id == contribution_id,
                outcome_links.c.link_id == link_id,
                outcome_links.c.unlinked_at.is_(None),
            )
            .values(unlinked_at=at)
        )

    def note_resource_status(self, tenant: str, decision_id: str, change_id: str, status: str, at) -> None:
        self._insert_if_absent(
            outcome_resource_changes,
            dict(resource_change_id=change_id, tenant=tenant, decision_id=decision_id, status=status, changed_at=at),
        )
        self.session.execute(
            outcome_resource_changes.update()
            .where(
                outcome_resource_changes.c.resource_change_id == change_id,
                outcome_resource_changes.c.tenant == tenant,
                outcome_resource_changes.c.changed_at < at,
            )
            .values(status=status, changed_at=at)
        )

    # Messages and ratings -------------------------------------------------------------

    def note_message(self, tenant: str, contribution_id: str, notification_id: str, kind: str, status: str, at) -> None:
        known = self.session.execute(
            sa.select(outcome_messages).where(outcome_messages.c.notification_id == notification_id)
        ).first()
        sent_at = at if status in TOLD else None
        if known is None:
            self._insert_if_absent(
                outcome_messages,
                dict(
                    notification_id=notification_id,
                    tenant=tenant,
                    contribution_id=contribution_id,
                    kind=kind,
                    status=status,
                    status_at=at,
                    sent_at=sent_at,
                ),
            )
            return
        values = {}
        if sent_at and (known.sent_at is None or sent_at < known.sent_at):
            values["sent_at"] = sent_at  # a "sent" arriving after its "delivered"
        if MESSAGE_STATUS_RANK[status] >= MESSAGE_STATUS_RANK.get(known.status, 0):
            values.update(status=status, status_at=at)
        if values:
            self.session.execute(
                outcome_messages.update().where(outcome_messages.c.notification_id == notification_id).values(**values)
            )

    def _ensure_outcome_row(self, tenant: str, contribution_id: str, now) -> None:
        self._insert_if_absent(
            contribution_outcomes,
            dict(contribution_id=contribution_id, tenant=tenant, decision_count=0, updated_at=now),
        )

    def note_rating(self, tenant: str, contribution_id: str, rating: str, rated_at, now) -> None:
        """The participant's latest answer counts; an older one arriving late does not."""
        self._ensure_outcome_row(tenant, contribution_id, now)
        self.session.execute(
            contribution_outcomes.update()
            .where(
                contribution_outcomes.c.contribution_id == contribution_id,
                sa.or_(contribution_outcomes.c.rated_at.is_(None), contribution_outcomes.c.rated_at <= rated_at),
            )
            .values(rating=rating, rated_at=rated_at, updated_at=now)
        )

    # The contribution's outcome and status, from all of the above ------------------------

    def chain(self, tenant: str, contribution_id: str) -> Chain:
        """What intake knows of one contribution's chain, for its status and the dashboard."""
        feedback_due = self.session.execute(
            sa.select(engagements.c.feedback_due)
            .select_from(contributions.join(engagements, engagements.c.id == contributions.c.engagement_id))
            .where(contributions.c.id == contribution_id)
        ).scalar_one()
        links = self.session.execute(
            sa.select(
                outcome_links.c.decision_id,
                outcome_links.c.linked_at,
                outcome_decisions.c.outcome,
                outcome_decisions.c.final_since,
            )
            .join(outcome_decisions, outcome_decisions.c.decision_id == outcome_links.c.decision_id)
            .where(outcome_links.c.contribution_id == contribution_id, outcome_links.c.unlinked_at.is_(None))
            .order_by(outcome_links.c.linked_at)
        ).all()
        decision_ids = {link.decision_id for link in links}
        resource_statuses = (
            self.session.execute(
                sa.select(outcome_resource_changes.c.status).where(
                    outcome_resource_changes.c.decision_id.in_(decision_ids),
                    outcome_resource_changes.c.tenant == tenant,
                )
            )
            .scalars()
            .all()
            if decision_ids
            else []
        )
        messages = self.session.execute(
            sa.select(outcome_messages).where(outcome_messages.c.contribution_id == contribution_id)
        ).all()
        return Chain(feedback_due, links, resource_statuses, messages)

    def store(self, tenant: str, contribution_id: str, chain: Chain, status: str, *, now: dt.datetime) -> None:
        """What the dashboard reads of one contribution, and its status, from its chain."""
        links, messages = chain.links, chain.messages
        # Decided when linked to a decision already final, or when a linked one became final.
        decided = [max(link.linked_at, link.final_since) for link in links if link.final_since is not None]
        told = [m.sent_at for m in messages if m.kind in OUTCOME_MESSAGE_KINDS and m.status in TOLD and m.sent_at]
        self._ensure_outcome_row(tenant, contribution_id, now)
        self.session.execute(
            contribution_outcomes.update()
            .where(contribution_outcomes.c.contribution_id == contribution_id)
            .values(
                first_decided_at=min(decided, default=None),
                latest_outcome=links[-1].outcome if links else None,
                decision_count=len(links),
                feedback_delivered_at=min(told, default=None),
                updated_at=now,
            )
        )
        self.session.execute(contributions.update().where(contributions.c.id == contribution_id).values(status=status))

    # What the dashboard counts ------------------------------------------------------------

    def letters_held(self, tenant: str) -> int:
        """How many of the tenant's letters the notifier holds for next month's letter budget."""
        return self.session.execute(
            sa.select(sa.func.count()).where(
                outcome_messages.c.tenant == tenant, outcome_messages.c.status == STATUS_HELD
            )
        ).scalar_one()

    def dashboard_rows(self, where: DashboardFilter) -> list[sa.Row]:
        """One row per contribution in scope: what it is, its outcome so far, and its
        author's equality-monitoring answers, sealed (None if they gave none)."""
        query = (
            sa.select(
                contributions.c.id,
                contributions.c.reference,
                contributions.c.type,
                contributions.c.received_at,
                contributions.c.participant_id,
                contributions.c.engagement_id,
                engagements.c.title.label("engagement_title"),
                engagements.c.feedback_due,
                contribution_outcomes.c.first_decided_at,
                contribution_outcomes.c.latest_outcome,
                contribution_outcomes.c.decision_count,
                contribution_outcomes.c.feedback_delivered_at,
                contribution_outcomes.c.rating,
                equality_answers.c.answers_sealed,
            )
            .select_from(
                contributions.join(engagements, engagements.c.id == contributions.c.engagement_id)
                .outerjoin(contribution_outcomes, contribution_outcomes.c.contribution_id == contributions.c.id)
                .outerjoin(equality_answers, equality_answers.c.participant_id == contributions.c.participant_id)
            )
            .where(contributions.c.tenant == where.tenant)
        )
        if where.engagement_id:
            query = query.where(contributions.c.engagement_id == where.engagement_id)
        if where.service_area:
            query = query.where(engagements.c.service_area == where.service_area)
        if where.received_from:
            query = query.where(contributions.c.received_at >= where.received_from)
        if where.received_until:
            query = query.where(contributions.c.received_at < where.received_until)
        return self.session.execute(query).all()

    def engagement_choices(self, tenant: str) -> list[sa.Row]:
        """(id, title, service_area) of the tenant's engagements, for the filters."""
        return self.session.execute(
            sa.select(engagements.c.id, engagements.c.title, engagements.c.service_area)
            .where(engagements.c.tenant == tenant)
            .order_by(engagements.c.title)
        ).all()
