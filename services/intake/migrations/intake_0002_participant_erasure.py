"""participant erasure: when a participant was erased

Revision ID: intake_0002
Revises: intake_0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'intake_0002'
down_revision = 'intake_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite would otherwise rebuild `participants`, and dropping the
    # old table would cascade to equality_answers.
    op.add_column('participants', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('participants', 'erased_at')
