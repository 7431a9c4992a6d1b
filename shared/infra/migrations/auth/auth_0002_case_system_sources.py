"""case-system sources each tenant registers

Revision ID: auth_0002
Revises: auth_0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0002'
down_revision = 'auth_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_system_sources',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('source', sa.String(length=1024), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant'], ['tenants.slug'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'source', name='uq_case_system_sources_tenant_source')
    )


def downgrade() -> None:
    op.drop_table('case_system_sources')
