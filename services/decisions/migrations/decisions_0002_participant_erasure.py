"""participant erasure: erased contributions and the participants erased

Revision ID: decisions_0002
Revises: decisions_0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'decisions_0002'
down_revision = 'decisions_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('contributions_view', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_contributions_view_participant', 'contributions_view', ['participant_id'], unique=False)
    op.create_table('erased_participants',
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('participant_id', 'tenant')
    )


def downgrade() -> None:
    op.drop_table('erased_participants')
    op.drop_index('ix_contributions_view_participant', table_name='contributions_view')
    op.drop_column('contributions_view', 'erased_at')
