"""recipients notifications attempts read models

Revision ID: notifier_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = 'notifier_0001'
down_revision = None
branch_labels = ('notifier',)
depends_on = None


def upgrade() -> None:
    op.create_table('contributions_view',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('engagement_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contributions_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contributions_view_participant_id'), ['participant_id'], unique=False)

    op.create_table('engagements_view',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('can_change', sa.JSON(), nullable=False),
    sa.Column('cannot_change', sa.JSON(), nullable=False),
    sa.Column('decision_maker', sa.String(length=200), nullable=False),
    sa.Column('feedback_due', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('notifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_reference', sa.String(length=100), nullable=True),
    sa.Column('language_used', sa.String(length=12), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'participant_id', 'channel', name='uq_notifications_once')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_contribution', ['tenant', 'contribution_id'], unique=False)
        batch_op.create_index('ix_notifications_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notifications_participant', ['tenant', 'participant_id'], unique=False)

    op.create_table('recipients',
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('contact_sealed', sa.Text(), nullable=True),
    sa.Column('preferred_channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('consent_to_contact', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('participant_id')
    )
    op.create_table('notification_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempts_notification_id'), ['notification_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempts_notification_id'))

    op.drop_table('notification_attempts')
    op.drop_table('recipients')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_participant')
        batch_op.drop_index('ix_notifications_due')
        batch_op.drop_index('ix_notifications_contribution')

    op.drop_table('notifications')
    op.drop_table('engagements_view')
    with op.batch_alter_table('contributions_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributions_view_participant_id'))

    op.drop_table('contributions_view')
