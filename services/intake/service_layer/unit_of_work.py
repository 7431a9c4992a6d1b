from __future__ import annotations

from sqlalchemy.orm import Session

from services.intake.adapters.outcomes import OutcomeRepository
from services.intake.adapters.repository import (
    ContributionRepository,
    EngagementRepository,
    ParticipantRepository,
)
from services.intake.adapters.workspace import WorkspaceQueries
from shared.infra.db import UnitOfWork
from shared.messaging import outbox


class IntakeUnitOfWork(UnitOfWork):
    engagements: EngagementRepository
    participants: ParticipantRepository
    contributions: ContributionRepository
    outcomes: OutcomeRepository
    workspace: WorkspaceQueries

    def _start(self, session: Session) -> None:
        self.engagements = EngagementRepository(session)
        self.participants = ParticipantRepository(session, self.sealer, self.insert)
        self.contributions = ContributionRepository(session, self.insert)
        self.outcomes = OutcomeRepository(session)
        self.workspace = WorkspaceQueries(session)

    def commit(self) -> None:
        if self._depth == 1:
            self.contributions.give_back_unused()
        super().commit()

    def withdraw_announcements(self, topic: str, keys: list[str], *, rewrite=None) -> None:
        """What the outbox still holds about these aggregates goes (see outbox.withdraw)."""
        outbox.withdraw(self.session, topic, keys, rewrite=rewrite)
