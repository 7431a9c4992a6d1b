"""each tenant's OpenID Connect identity provider

Revision ID: auth_0003
Revises: auth_0002
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0003'
down_revision = 'auth_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_providers',
    sa.Column('tenant', sa.String(length=63), nullable=False),
    sa.Column('issuer', sa.String(length=1024), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('sealed_client_secret', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('role_claim', sa.String(length=100), nullable=False),
    sa.Column('staff_groups', sa.Text(), nullable=False),
    sa.Column('board_groups', sa.Text(), nullable=False),
    sa.Column('admin_groups', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant'], ['tenants.slug'], ),
    sa.PrimaryKeyConstraint('tenant')
    )


def downgrade() -> None:
    op.drop_table('identity_providers')
