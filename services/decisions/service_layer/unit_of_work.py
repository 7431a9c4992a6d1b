from __future__ import annotations

from sqlalchemy.orm import Session

from services.decisions.adapters.repository import (
    BoardRepository,
    DecisionRepository,
    LinkRepository,
    ReadModels,
    ResourceChangeRepository,
)
from shared.infra.db import UnitOfWork


class DecisionsUnitOfWork(UnitOfWork):
    boards: BoardRepository
    decisions: DecisionRepository
    links: LinkRepository
    resource_changes: ResourceChangeRepository
    read: ReadModels

    def _start(self, session: Session) -> None:
        self.boards = BoardRepository(session)
        self.decisions = DecisionRepository(session)
        self.links = LinkRepository(session)
        self.resource_changes = ResourceChangeRepository(session)
        self.read = ReadModels(session)
