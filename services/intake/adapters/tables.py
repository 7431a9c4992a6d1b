"""Intake's tables. Names, emails and phone numbers are stored encrypted."""

import sqlalchemy as sa

from shared.infra.tables import SEALED, UTCDateTime, lookup_of

# What the lookup key of a participant's external_ref is computed for (shared/infra/crypto.py).
EXTERNAL_REF_LOOKUP = "participant.external_ref"

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
    # The languages people may take part in (BCP 47 tags), and when staff closed it.
    sa.Column("languages", sa.JSON, nullable=False, server_default='["en"]'),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Index("ix_engagements_tenant_created", "tenant", "created_at"),
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    # The case system's reference for the person is sealed with the contact details; this is
    # its lookup key (an HMAC under a data key), to find the person again. None once erased.
    sa.Column(
        "external_ref_lookup",
        sa.String(64),
        nullable=True,
        info=lookup_of("contact_sealed", "external_ref", EXTERNAL_REF_LOOKUP),
    ),
    # Name, email, phone and external_ref, sealed together: the same ciphertext travels
    # as `sealed_contact` on outcomes.participants, so each change is encrypted once.
    # Once the participant is erased it seals nothing but empty fields.
    sa.Column("contact_sealed", sa.Text, nullable=False, info=SEALED),
    sa.Column("preferred_channel", sa.String(10), nullable=False),
    sa.Column("language", sa.String(12), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("consent_to_contact", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("erased_at", UTCDateTime, nullable=True),
    sa.Index("uq_participants_external_ref_lookup", "tenant", "external_ref_lookup", unique=True),
)

# Voluntary equality-monitoring answers: their own table, reported only in aggregate, and
# sealed like contact details ({question: answer} as one token).
equality_answers = sa.Table(
    "equality_answers",
    metadata,
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False, index=True),
    sa.Column("answers_sealed", sa.Text, nullable=False, info=SEALED),
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

# What happened to each contribution, learnt from decisions' and the notifier's events:
# intake's own read model, so the staff dashboard can set outcomes beside the
# equality-monitoring answers without those answers ever leaving intake.
contribution_outcomes = sa.Table(
    "contribution_outcomes",
    metadata,
    sa.Column("contribution_id", sa.String(36), sa.ForeignKey("contributions.id"), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    # The first time a decision with a final outcome was linked to it (or amended to one).
    sa.Column("first_decided_at", UTCDateTime, nullable=True),
    sa.Column("latest_outcome", sa.String(20), nullable=True),
    sa.Column("decision_count", sa.Integer, nullable=False),
    # The first time an update telling the outcome was sent or delivered (see outcomes.py).
    sa.Column("feedback_delivered_at", UTCDateTime, nullable=True),
    sa.Column("rating", sa.String(10), nullable=True),
    sa.Column("rated_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per link a board made between a decision and a contribution.
outcome_links = sa.Table(
    "outcome_links",
    metadata,
    sa.Column("link_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("contribution_id", sa.String(36), sa.ForeignKey("contributions.id"), nullable=False, index=True),
    sa.Column("decision_id", sa.String(36), nullable=False, index=True),
    sa.Column("linked_at", UTCDateTime, nullable=False),
    sa.Column("unlinked_at", UTCDateTime, nullable=True),
)

# Each linked decision's outcome, as its latest version known to intake says.
outcome_decisions = sa.Table(
    "outcome_decisions",
    metadata,
    sa.Column("decision_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("final_since", UTCDateTime, nullable=True),  # null while not final (deferred)
)

# The status of each resource change of a linked decision, as of `changed_at`.
outcome_resource_changes = sa.Table(
    "outcome_resource_changes",
    metadata,
    sa.Column("resource_change_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("decision_id", sa.String(36), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)

# Each message to a participant about a contribution: its kind and latest status.
outcome_messages = sa.Table(
    "outcome_messages",
    metadata,
    sa.Column("notification_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("contribution_id", sa.String(36), sa.ForeignKey("contributions.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),  # first sent or delivered
)
