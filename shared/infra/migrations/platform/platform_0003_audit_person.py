"""audit log: the person behind a signed-in session

Revision ID: platform_0003
Revises: platform_0002
"""
from alembic import op
import sqlalchemy as sa


revision = 'platform_0003'
down_revision = 'platform_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added, never altered: a rebuilt table would lose the append-only triggers.
    op.add_column('audit_log', sa.Column('person_issuer', sa.String(length=1024), nullable=True))
    op.add_column('audit_log', sa.Column('person_subject', sa.String(length=255), nullable=True))
    op.add_column('audit_log', sa.Column('person_name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for column in ('person_name', 'person_subject', 'person_issuer'):
        op.drop_column('audit_log', column)
