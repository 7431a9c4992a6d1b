"""Intake's tables. Names, emails and phone numbers are stored encrypted."""

import sqlalchemy as sa

from shared.tables import UTCDateTime

metadata = sa.MetaData()

engagements = sa.Table(
    "engagements",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("service_area", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("can_change", sa.JSON, nullable=False),
    sa.Column("cannot_change", sa.JSON, nullable=False),
    sa.Column("decision_maker", sa.String(200), nullable=False),
    sa.Column("feedback_due", sa.Date, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_engagements_tenant_created", "tenant", "created_at"),
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("external_ref", sa.String(100), nullable=True),
    # Name, email, phone and external_ref, sealed together: the same ciphertext travels
    # as `sealed_contact` on outcomes.participants, so each change is encrypted once.
    sa.Column("contact_sealed", sa.Text, nullable=False),
    sa.Column("preferred_channel", sa.String(10), nullable=False),
    sa.Column("language", sa.String(12), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("consent_to_contact", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant", "external_ref", name="uq_participants_external_ref"),
)

# Voluntary equality-monitoring answers: their own table, reported only in aggregate.
equality_answers = sa.Table(
    "equality_answers",
    metadata,
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False, index=True),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False, unique=True),
    sa.Column("engagement_id", sa.String(36), sa.ForeignKey("engagements.id"), nullable=False),
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("on_behalf_of", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    # Who sent it: a key id over HTTP, "<source>#<event id>" over Kafka.
    sa.Column("submitted_by", sa.String(1300), nullable=False),
    sa.Column("submitted_by_role", sa.String(20), nullable=False),
    sa.Index("ix_contributions_tenant_engagement", "tenant", "engagement_id", "received_at"),
    sa.Index("ix_contributions_tenant_received", "tenant", "received_at"),
)

reference_counters = sa.Table(
    "reference_counters",
    metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("contribution_id", sa.String(36), sa.ForeignKey("contributions.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
