"""recipient phone lookup: a keyed hash of the number, to match SMS replies

Revision ID: notifier_0002
Revises: notifier_0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'notifier_0002'
down_revision = 'notifier_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('recipients', sa.Column('phone_lookup', sa.String(length=64), nullable=True))
    op.create_index('ix_recipients_phone_lookup', 'recipients', ['phone_lookup'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_recipients_phone_lookup', table_name='recipients')
    op.drop_column('recipients', 'phone_lookup')
