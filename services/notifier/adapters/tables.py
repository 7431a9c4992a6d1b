"""The notifier's tables: recipients, what it knows of contributions and engagements,
and one row per (event, participant, channel) for every message."""

import sqlalchemy as sa

from shared.infra.tables import SEALED, SEALED_FIELDS, BigIntId, UTCDateTime

metadata = sa.MetaData()

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("participant_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    # The sealed contact exactly as intake sent it: encrypted at rest, opened only to send.
    sa.Column("contact_sealed", sa.Text, nullable=True, info=SEALED),
    sa.Column("preferred_channel", sa.String(10), nullable=False),
    sa.Column("language", sa.String(12), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("consent_to_contact", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("unsubscribed_at", UTCDateTime, nullable=True),
    sa.Column("erased_at", UTCDateTime, nullable=True),
    # A keyed hash of the phone number (never the number), to match an SMS reply to its sender.
    sa.Column("phone_lookup", sa.String(64), nullable=True, index=True),
)

engagements_view = sa.Table(
    "engagements_view",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("can_change", sa.JSON, nullable=False),
    sa.Column("cannot_change", sa.JSON, nullable=False),
    sa.Column("decision_maker", sa.String(200), nullable=False),
    sa.Column("feedback_due", sa.Date, nullable=False),
)

contributions_view = sa.Table(
    "contributions_view",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("participant_id", sa.String(36), nullable=False, index=True),
    sa.Column("engagement_id", sa.String(36), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),  # the causing event's key
    sa.Column("participant_id", sa.String(36), nullable=False),
    sa.Column("contribution_id", sa.String(36), nullable=True),
    sa.Column("channel", sa.String(10), nullable=False),  # email, sms, or "none" when withheld
    sa.Column("kind", sa.String(30), nullable=False),
    # What the message says beyond the contribution: the decision, the change (board-written);
    # what the board wrote about the person (`sealed_influence`, ...) stays sealed.
    sa.Column("context", sa.JSON, nullable=False, info=SEALED_FIELDS),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("provider", sa.String(20), nullable=True),
    sa.Column("provider_reference", sa.String(100), nullable=True),
    sa.Column("language_used", sa.String(12), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("event_id", "participant_id", "channel", name="uq_notifications_once"),
    sa.Index("ix_notifications_due", "status", "next_attempt_at"),
    sa.Index("ix_notifications_contribution", "tenant", "contribution_id"),
    sa.Index("ix_notifications_participant", "tenant", "participant_id"),
)

attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),  # sent, retry, failed
    sa.Column("detail", sa.Text, nullable=True),  # provider status, never message content
)
