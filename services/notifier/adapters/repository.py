"""Loading and saving the notifier's recipients, read models and notifications."""

from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifier.adapters.tables import attempts, contributions_view, engagements_view, notifications, recipients
from services.notifier.domain.model import Recipient
from shared.rules.constants import (
    EARLY_RECEIPT_PREFIX,
    MESSAGE_ACKNOWLEDGEMENT,
    OUTCOME_MESSAGE_KINDS,
    STATUS_CREATED,
    STATUS_DELIVERED,
    STATUS_SENDING,
    STATUS_SENT,
)


class RecipientRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, participant_id: str) -> Recipient | None:
        row = (
            self.session.execute(sa.select(recipients).where(recipients.c.participant_id == participant_id))
            .mappings()
            .first()
        )
        return Recipient(**row) if row else None

    def get_many(self, participant_ids: set[str]) -> dict[str, Recipient]:
        """{participant id: recipient} of those known, in one query."""
        if not participant_ids:
            return {}
        rows = self.session.execute(sa.select(recipients).where(recipients.c.participant_id.in_(participant_ids)))
        return {row["participant_id"]: Recipient(**row) for row in rows.mappings()}

    def save(self, recipient: Recipient) -> None:
        values = vars(recipient)
        if self.get(recipient.participant_id) is None:
            self.session.execute(recipients.insert(), values)
        else:
            self.session.execute(
                recipients.update().where(recipients.c.participant_id == recipient.participant_id).values(**values)
            )

    def sealed_contacts(self, after: str, limit: int) -> list[tuple[str, str, str | None]]:
        """(participant id, sealed contact, phone lookup) of those with contact details, in id order."""
        return [
            tuple(row)
            for row in self.session.execute(
                sa.select(recipients.c.participant_id, recipients.c.contact_sealed, recipients.c.phone_lookup)
                .where(recipients.c.participant_id > after, recipients.c.contact_sealed.is_not(None))
                .order_by(recipients.c.participant_id)
                .limit(limit)
            )
        ]

    def set_phone_lookup(self, participant_id: str, sealed: str, lookup: str | None) -> bool:
        """Write the lookup if the contact is still the one it was worked out from."""
        return bool(
            self.session.execute(
                recipients.update()
                .where(recipients.c.participant_id == participant_id, recipients.c.contact_sealed == sealed)
                .values(phone_lookup=lookup)
            ).rowcount
        )


class ReadModels:
    def __init__(self, session: Session):
        self.session = session

    def _upsert(self, table: sa.Table, values: dict) -> None:
        exists = self.session.execute(sa.select(table.c.id).where(table.c.id == values["id"])).first()
        if exists:
            self.session.execute(table.update().where(table.c.id == values["id"]).values(**values))
        else:
            self.session.execute(table.insert(), values)

    def save_engagement(self, values: dict) -> None:
        self._upsert(engagements_view, values)

    def save_contribution(self, values: dict) -> None:
        self._upsert(contributions_view, values)

    def engagement(self, engagement_id: str) -> dict | None:
        row = (
            self.session.execute(sa.select(engagements_view).where(engagements_view.c.id == engagement_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def contribution(self, contribution_id: str) -> dict | None:
        row = (
            self.session.execute(sa.select(contributions_view).where(contributions_view.c.id == contribution_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def _many(self, table: sa.Table, ids: set[str]) -> dict[str, dict]:
        if not ids:
            return {}
        return {
            row["id"]: dict(row) for row in self.session.execute(sa.select(table).where(table.c.id.in_(ids))).mappings()
        }

    def engagements(self, engagement_ids: set[str]) -> dict[str, dict]:
        """{id: engagement} of those known, in one query."""
        return self._many(engagements_view, engagement_ids)

    def contributions(self, contribution_ids: set[str]) -> dict[str, dict]:
        """{id: contribution} of those known, in one query."""
        return self._many(contributions_view, contribution_ids)


@functools.lru_cache(maxsize=32)
def _update_by_id(columns: frozenset[str]) -> sa.Update:
    """UPDATE notifications SET the columns WHERE id = :notification_id, built once for each
    set of columns (the sender records every message it sends: no statement built per message)."""
    return (
        notifications.update()
        .where(notifications.c.id == sa.bindparam("notification_id", type_=notifications.c.id.type))
        .values({name: sa.bindparam(f"new_{name}", type_=notifications.c[name].type) for name in sorted(columns)})
    )


_INSERT_ATTEMPT = attempts.insert()


class NotificationRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, values: dict) -> bool:
        """Record a message to send; False if this event already made one for this person."""
        exists = self.session.execute(
            sa.select(notifications.c.id).where(
                notifications.c.event_id == values["event_id"],
                notifications.c.participant_id == values["participant_id"],
            )
        ).first()
        if exists:
            return False
        self.session.execute(notifications.insert(), values)
        return True

    def get(self, notification_id: str) -> dict | None:
        row = (
            self.session.execute(sa.select(notifications).where(notifications.c.id == notification_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def by_provider_reference(self, provider: str, reference: str) -> dict | None:
        row = (
            self.session.execute(
                sa.select(notifications).where(
                    notifications.c.provider == provider, notifications.c.provider_reference == reference
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[dict]:
        """Take up to `limit` messages that are due (or whose sender's lease ran out)."""
        due = sa.or_(
            sa.and_(notifications.c.status == STATUS_CREATED, notifications.c.next_attempt_at <= now),
            sa.and_(notifications.c.status == STATUS_SENDING, notifications.c.next_attempt_at <= now),
        )
        query = sa.select(notifications).where(due).order_by(notifications.c.next_attempt_at).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [dict(row) for row in self.session.execute(query).mappings()]
        if rows:
            self.session.execute(
                notifications.update()
                .where(notifications.c.id.in_([row["id"] for row in rows]))
                .values(status=STATUS_SENDING, next_attempt_at=now + lease, updated_at=now)
            )
        return rows

    def claim_pending_updates(
        self, participant_id: str, *, besides: str, now: dt.datetime, lease: dt.timedelta
    ) -> list[dict]:
        """Every other update waiting for this participant, to go in one digest."""
        query = (
            sa.select(notifications)
            .where(
                notifications.c.participant_id == participant_id,
                notifications.c.status == STATUS_CREATED,
                notifications.c.kind != MESSAGE_ACKNOWLEDGEMENT,
                notifications.c.id != besides,
            )
            .order_by(notifications.c.created_at)
        )
        rows = [dict(row) for row in self.session.execute(query).mappings()]
        if rows:
            self.session.execute(
                notifications.update()
                .where(notifications.c.id.in_([row["id"] for row in rows]))
                .values(status=STATUS_SENDING, next_attempt_at=now + lease, updated_at=now)
            )
        return rows

    def update(self, notification_id: str, **values) -> None:
        self.session.execute(
            _update_by_id(frozenset(values)),
            {"notification_id": notification_id, **{f"new_{name}": value for name, value in values.items()}},
        )

    def record_attempt(self, notification_id: str, at: dt.datetime, outcome: str, detail: str | None) -> None:
        self.session.execute(
            _INSERT_ATTEMPT, {"notification_id": notification_id, "at": at, "outcome": outcome, "detail": detail}
        )

    def list(
        self, tenant: str, *, contribution_id, participant_id, status, offset: int, limit: int
    ) -> tuple[list[dict], int]:
        conditions = [notifications.c.tenant == tenant]
        if contribution_id:
            conditions.append(notifications.c.contribution_id == contribution_id)
        if participant_id:
            conditions.append(notifications.c.participant_id == participant_id)
        if status:
            conditions.append(notifications.c.status == status)
        rows = self.session.execute(
            sa.select(notifications)
            .where(*conditions)
            .order_by(notifications.c.created_at.desc(), notifications.c.id)
            .offset(offset)
            .limit(limit)
        ).mappings()
        items = [dict(row) for row in rows]
        total = self.session.execute(
            sa.select(sa.func.count()).select_from(notifications).where(*conditions)
        ).scalar_one()
        return items, total

    def early_receipt(self, notification_id: str) -> tuple[str, str] | None:
        """(status, provider status) of a receipt that arrived while the message was being sent."""
        row = self.session.execute(
            sa.select(attempts.c.outcome, attempts.c.detail)
            .where(attempts.c.notification_id == notification_id, attempts.c.outcome.startswith(EARLY_RECEIPT_PREFIX))
            .order_by(attempts.c.id.desc())
            .limit(1)
        ).first()
        return (row.outcome.removeprefix(EARLY_RECEIPT_PREFIX), row.detail) if row else None

    def latest_decision_update_by_sms(self, phone_lookup: str) -> dict | None:
        """The last decision update sent by SMS to the number with this lookup key, whoever
        of the people sharing that number it went to: what an SMS reply answers."""
        row = (
            self.session.execute(
                sa.select(notifications)
                .join(recipients, recipients.c.participant_id == notifications.c.participant_id)
                .where(
                    recipients.c.phone_lookup == phone_lookup,
                    recipients.c.erased_at.is_(None),
                    notifications.c.channel == "sms",
                    notifications.c.status.in_((STATUS_SENT, STATUS_DELIVERED)),
                    notifications.c.kind.in_(OUTCOME_MESSAGE_KINDS),
                    notifications.c.contribution_id.is_not(None),
                )
                .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def count_by_status(self) -> dict[tuple[str, str], int]:
        """{(status, channel): notifications}, across every tenant, for the operator's gauges."""
        rows = self.session.execute(
            sa.select(notifications.c.status, notifications.c.channel, sa.func.count()).group_by(
                notifications.c.status, notifications.c.channel
            )
        )
        return {(status, channel): count for status, channel, count in rows}

    def attempts_for(self, notification_ids: list[str]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        if notification_ids:
            rows = self.session.execute(
                sa.select(attempts).where(attempts.c.notification_id.in_(notification_ids)).order_by(attempts.c.id)
            ).mappings()
            for row in rows:
                found.setdefault(row["notification_id"], []).append(
                    {"at": row["at"], "outcome": row["outcome"], "detail": row["detail"]}
                )
        return found

    def handed_over_since(self, tenant: str, channel: str, since: dt.datetime) -> int:
        """How many of a tenant's messages by `channel` went to the provider since `since`
        (each counted once, however many receipts followed): what a letter budget spends."""
        return self.session.execute(
            sa.select(sa.func.count(sa.distinct(attempts.c.notification_id)))
            .select_from(attempts.join(notifications, attempts.c.notification_id == notifications.c.id))
            .where(
                notifications.c.tenant == tenant,
                notifications.c.channel == channel,
                attempts.c.outcome == STATUS_SENT,
                attempts.c.at >= since,
            )
        ).scalar_one()

    def count_waiting(self, tenant: str, channel: str, reason: str) -> int:
        """How many of a tenant's messages by `channel` are queued for `reason`."""
        return self.session.execute(
            sa.select(sa.func.count()).where(
                notifications.c.tenant == tenant,
                notifications.c.channel == channel,
                notifications.c.status == STATUS_CREATED,
                notifications.c.reason == reason,
            )
        ).scalar_one()
