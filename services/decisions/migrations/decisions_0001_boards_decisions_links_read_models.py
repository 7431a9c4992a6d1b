"""boards decisions links resource changes read models

Revision ID: decisions_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = 'decisions_0001'
down_revision = None
branch_labels = ('decisions',)
depends_on = None


def upgrade() -> None:
    op.create_table('boards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('remit', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_boards_tenant'), ['tenant'], unique=False)

    _read_models()
    _decisions()


def _read_models() -> None:
    """What decisions learns from other services' events."""
    op.create_table('contributions_view',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('engagement_id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('on_behalf_of', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sealed_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contributions_view', schema=None) as batch_op:
        batch_op.create_index('ix_contributions_view_engagement', ['tenant', 'engagement_id'], unique=False)

    op.create_table('engagements_view',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('service_area', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('can_change', sa.JSON(), nullable=False),
    sa.Column('cannot_change', sa.JSON(), nullable=False),
    sa.Column('decision_maker', sa.String(length=200), nullable=False),
    sa.Column('feedback_due', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('engagements_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagements_view_feedback_due'), ['feedback_due'], unique=False)

    op.create_table('messages_view',
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('notification_id')
    )
    with op.batch_alter_table('messages_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_view_contribution_id'), ['contribution_id'], unique=False)

    op.create_table('overdue_notices',
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('noticed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('contribution_id')
    )
    op.create_table('ratings_view',
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('rating', sa.String(length=10), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('contribution_id')
    )

def _decisions() -> None:
    """Decisions, their versions, links and resource changes."""
    op.create_table('decisions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('board_id', sa.String(length=36), nullable=False),
    sa.Column('engagement_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=True),
    sa.Column('scope_limit_kind', sa.String(length=20), nullable=True),
    sa.Column('scope_limit', sa.Text(), nullable=True),
    sa.Column('revisit_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index('ix_decisions_tenant_board', ['tenant', 'board_id'], unique=False)
        batch_op.create_index('ix_decisions_tenant_engagement', ['tenant', 'engagement_id'], unique=False)

    op.create_table('decision_versions',
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.PrimaryKeyConstraint('decision_id', 'version')
    )
    _links_and_changes()


def _links_and_changes() -> None:
    """Links from decisions to contributions, and resource changes with their history."""
    op.create_table('links',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('influence', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unlinked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unlink_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index('ix_links_contribution', ['tenant', 'contribution_id'], unique=False)
        batch_op.create_index('ix_links_decision', ['decision_id'], unique=False)
        batch_op.create_index('ix_links_pending', ['state', 'linked_at'], unique=False)
        batch_op.create_index('uq_links_active', ['decision_id', 'contribution_id'], unique=True, postgresql_where=sa.text('unlinked_at IS NULL'), sqlite_where=sa.text('unlinked_at IS NULL'))

    op.create_table('resource_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('progress_percent', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('resource_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_changes_decision_id'), ['decision_id'], unique=False)

    op.create_table('resource_change_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
    sa.Column('resource_change_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('progress_percent', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_change_id'], ['resource_changes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('resource_change_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_change_history_resource_change_id'), ['resource_change_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('resource_change_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_change_history_resource_change_id'))

    op.drop_table('resource_change_history')
    with op.batch_alter_table('resource_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_changes_decision_id'))

    op.drop_table('resource_changes')
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index('uq_links_active', postgresql_where=sa.text('unlinked_at IS NULL'), sqlite_where=sa.text('unlinked_at IS NULL'))
        batch_op.drop_index('ix_links_pending')
        batch_op.drop_index('ix_links_decision')
        batch_op.drop_index('ix_links_contribution')

    op.drop_table('links')
    op.drop_table('decision_versions')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_tenant_engagement')
        batch_op.drop_index('ix_decisions_tenant_board')

    op.drop_table('decisions')
    op.drop_table('ratings_view')
    op.drop_table('overdue_notices')
    with op.batch_alter_table('messages_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_view_contribution_id'))

    op.drop_table('messages_view')
    with op.batch_alter_table('engagements_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagements_view_feedback_due'))

    op.drop_table('engagements_view')
    with op.batch_alter_table('contributions_view', schema=None) as batch_op:
        batch_op.drop_index('ix_contributions_view_engagement')

    op.drop_table('contributions_view')
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_boards_tenant'))

    op.drop_table('boards')
