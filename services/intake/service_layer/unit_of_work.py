from __future__ import annotations

from sqlalchemy.orm import Session

from services.intake.adapters.repository import (
    ContributionRepository,
    EngagementRepository,
    ParticipantRepository,
)
from shared.db import UnitOfWork


class IntakeUnitOfWork(UnitOfWork):
    engagements: EngagementRepository
    participants: ParticipantRepository
    contributions: ContributionRepository

    def _start(self, session: Session) -> None:
        self.engagements = EngagementRepository(session)
        self.participants = ParticipantRepository(session, self.sealer)
        self.contributions = ContributionRepository(session)
