from __future__ import annotations

from sqlalchemy.orm import Session

from services.notifier.adapters.repository import NotificationRepository, ReadModels, RecipientRepository
from shared.infra.db import UnitOfWork


class NotifierUnitOfWork(UnitOfWork):
    recipients: RecipientRepository
    read: ReadModels
    notifications: NotificationRepository

    def _start(self, session: Session) -> None:
        self.recipients = RecipientRepository(session)
        self.read = ReadModels(session)
        self.notifications = NotificationRepository(session)
