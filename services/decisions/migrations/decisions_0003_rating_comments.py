"""rating comments: who rated, by which channel, and their comment sealed

Revision ID: decisions_0003
Revises: decisions_0002
"""
from alembic import op
import sqlalchemy as sa


revision = 'decisions_0003'
down_revision = 'decisions_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ratings_view', sa.Column('participant_id', sa.String(length=36), nullable=True))
    op.add_column('ratings_view', sa.Column('channel', sa.String(length=10), nullable=True))
    op.add_column('ratings_view', sa.Column('sealed_comment', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('ratings_view', 'sealed_comment')
    op.drop_column('ratings_view', 'channel')
    op.drop_column('ratings_view', 'participant_id')
