"""engagements: the languages offered, and when the engagement was closed

Revision ID: intake_0006
Revises: intake_0005
"""
from alembic import op
import sqlalchemy as sa


revision = 'intake_0006'
down_revision = 'intake_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('engagements') as batch:
        batch.add_column(sa.Column('languages', sa.JSON(), nullable=False, server_default='["en"]'))
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('engagements') as batch:
        batch.drop_column('closed_at')
        batch.drop_column('languages')
