"""Decisions' own tables, and the read models it keeps from other services' events."""

import sqlalchemy as sa

from shared.infra.tables import SEALED, BigIntId, UTCDateTime

metadata = sa.MetaData()

boards = sa.Table(
    "boards",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("remit", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("board_id", sa.String(36), sa.ForeignKey("boards.id"), nullable=False),
    sa.Column("engagement_id", sa.String(36), nullable=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("rationale", sa.Text, nullable=True),
    sa.Column("scope_limit_kind", sa.String(20), nullable=True),
    sa.Column("scope_limit", sa.Text, nullable=True),
    sa.Column("revisit_on", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_decisions_tenant_engagement", "tenant", "engagement_id"),
    sa.Index("ix_decisions_tenant_board", "tenant", "board_id"),
)

# Every version of a decision, the first included: amendments are kept, never overwritten.
decision_versions = sa.Table(
    "decision_versions",
    metadata,
    sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), nullable=False),
    sa.Column("contribution_id", sa.String(36), nullable=False),
    sa.Column("influence", sa.Text, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("linked_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime, nullable=True),
    sa.Column("unlinked_at", UTCDateTime, nullable=True),
    sa.Column("unlink_reason", sa.Text, nullable=True),
    sa.Index("ix_links_contribution", "tenant", "contribution_id"),
    sa.Index("ix_links_decision", "decision_id"),
    sa.Index("ix_links_pending", "state", "linked_at"),
    # One active link per decision and contribution; an unlinked one may be linked again.
    sa.Index(
        "uq_links_active",
        "decision_id",
        "contribution_id",
        unique=True,
        postgresql_where=sa.text("unlinked_at IS NULL"),
        sqlite_where=sa.text("unlinked_at IS NULL"),
    ),
)

resource_changes = sa.Table(
    "resource_changes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("effective_from", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress_percent", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

resource_change_history = sa.Table(
    "resource_change_history",
    metadata,
    sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
    sa.Column("resource_change_id", sa.String(36), sa.ForeignKey("resource_changes.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress_percent", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

# Read models, learned from events -------------------------------------------------------

engagements_view = sa.Table(
    "engagements_view",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("service_area", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("can_change", sa.JSON, nullable=False),
    sa.Column("cannot_change", sa.JSON, nullable=False),
    sa.Column("decision_maker", sa.String(200), nullable=False),
    sa.Column("feedback_due", sa.Date, nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

contributions_view = sa.Table(
    "contributions_view",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False),
    sa.Column("engagement_id", sa.String(36), nullable=False),
    sa.Column("participant_id", sa.String(36), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("on_behalf_of", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    # The participant's words stay sealed at rest here too; opened only to show staff.
    # Once the participant is erased it seals ERASED_TEXT instead.
    sa.Column("sealed_text", sa.Text, nullable=False, info=SEALED),
    sa.Column("erased_at", UTCDateTime, nullable=True),
    sa.Index("ix_contributions_view_engagement", "tenant", "engagement_id"),
    sa.Index("ix_contributions_view_participant", "participant_id"),
)

# Participants erased (participant.erased), per tenant: a contribution of theirs that
# arrives after the erasure is stored already anonymous.
erased_participants = sa.Table(
    "erased_participants",
    metadata,
    sa.Column("participant_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("erased_at", UTCDateTime, nullable=False),
)

# Messages the notifier reports on outcomes.notifications, for the chain.
messages_view = sa.Table(
    "messages_view",
    metadata,
    sa.Column("notification_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("contribution_id", sa.String(36), nullable=True, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)

ratings_view = sa.Table(
    "ratings_view",
    metadata,
    sa.Column("contribution_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("rating", sa.String(10), nullable=False),
    sa.Column("rated_at", UTCDateTime, nullable=False),
    sa.Column("participant_id", sa.String(36), nullable=True),
    sa.Column("channel", sa.String(10), nullable=True),  # web or sms; None from before it was kept
    # What the participant wrote beside their answer, sealed; gone when they are erased.
    sa.Column("sealed_comment", sa.Text, nullable=True, info=SEALED),
)

# contribution.feedback_overdue is announced once per contribution.
overdue_notices = sa.Table(
    "overdue_notices",
    metadata,
    sa.Column("contribution_id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("noticed_at", UTCDateTime, nullable=False),
)
