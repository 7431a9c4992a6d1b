"""engagements, participants and contributions

Revision ID: intake_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = 'intake_0001'
down_revision = None
branch_labels = ('intake',)
depends_on = None


def upgrade() -> None:
    op.create_table('engagements',
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
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.create_index('ix_engagements_tenant_created', ['tenant', 'created_at'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('contact_sealed', sa.Text(), nullable=False),
    sa.Column('preferred_channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('consent_to_contact', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'external_ref', name='uq_participants_external_ref')
    )
    op.create_table('reference_counters',
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'year')
    )
    _contributions()


def _contributions() -> None:
    """Contributions, their equality answers, and idempotency keys."""
    op.create_table('contributions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('engagement_id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('on_behalf_of', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('submitted_by', sa.String(length=1300), nullable=False),
    sa.Column('submitted_by_role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], ),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.create_index('ix_contributions_tenant_engagement', ['tenant', 'engagement_id', 'received_at'], unique=False)
        batch_op.create_index('ix_contributions_tenant_received', ['tenant', 'received_at'], unique=False)

    op.create_table('equality_answers',
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id')
    )
    with op.batch_alter_table('equality_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equality_answers_tenant'), ['tenant'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('contribution_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ),
    sa.PrimaryKeyConstraint('tenant', 'key')
    )



def downgrade() -> None:
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('equality_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equality_answers_tenant'))

    op.drop_table('equality_answers')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_index('ix_contributions_tenant_received')
        batch_op.drop_index('ix_contributions_tenant_engagement')

    op.drop_table('contributions')
    op.drop_table('reference_counters')
    op.drop_table('participants')
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.drop_index('ix_engagements_tenant_created')

    op.drop_table('engagements')
