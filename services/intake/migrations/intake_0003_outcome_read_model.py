"""outcome read model: what happened to each contribution, from decisions' and the notifier's events

Revision ID: intake_0003
Revises: intake_0002
"""
from alembic import op
import sqlalchemy as sa


revision = 'intake_0003'
down_revision = 'intake_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contribution_outcomes',
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('first_decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest_outcome', sa.String(length=20), nullable=True),
    sa.Column('decision_count', sa.Integer(), nullable=False),
    sa.Column('feedback_delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.String(length=10), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ),
    sa.PrimaryKeyConstraint('contribution_id')
    )
    op.create_table('outcome_links',
    sa.Column('link_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unlinked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ),
    sa.PrimaryKeyConstraint('link_id')
    )
    op.create_index('ix_outcome_links_contribution_id', 'outcome_links', ['contribution_id'], unique=False)
    op.create_index('ix_outcome_links_decision_id', 'outcome_links', ['decision_id'], unique=False)
    op.create_table('outcome_decisions',
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('final_since', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('decision_id')
    )
    op.create_table('outcome_resource_changes',
    sa.Column('resource_change_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('resource_change_id')
    )
    op.create_index('ix_outcome_resource_changes_decision_id', 'outcome_resource_changes', ['decision_id'], unique=False)
    op.create_table('outcome_messages',
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ),
    sa.PrimaryKeyConstraint('notification_id')
    )
    op.create_index('ix_outcome_messages_contribution_id', 'outcome_messages', ['contribution_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outcome_messages_contribution_id', table_name='outcome_messages')
    op.drop_table('outcome_messages')
    op.drop_index('ix_outcome_resource_changes_decision_id', table_name='outcome_resource_changes')
    op.drop_table('outcome_resource_changes')
    op.drop_table('outcome_decisions')
    op.drop_index('ix_outcome_links_decision_id', table_name='outcome_links')
    op.drop_index('ix_outcome_links_contribution_id', table_name='outcome_links')
    op.drop_table('outcome_links')
    op.drop_table('contribution_outcomes')
