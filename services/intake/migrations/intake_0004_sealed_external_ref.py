"""sealed external_ref: found by a keyed hash (HMAC under a data key), no longer kept in plain

A participant's external_ref has always been sealed with their contact details; the plain
copy in `participants.external_ref` is replaced by `external_ref_lookup`, its lookup key
under the primary data key (shared/infra/crypto.py, Sealer.lookup_key). Existing rows are
converted, so this needs DATA_ENCRYPTION_KEYS (`outcomes migrate` passes the settings').

On SQLite the emptied `external_ref` column stays in the table (all NULL): dropping a column
that is part of a table constraint rebuilds the table there, and dropping the old table
would cascade to equality_answers.

Revision ID: intake_0004
Revises: intake_0003
"""

from alembic import context, op
import sqlalchemy as sa


revision = 'intake_0004'
down_revision = 'intake_0003'
branch_labels = None
depends_on = None

PURPOSE = 'participant.external_ref'  # services/intake/adapters/tables.py, EXTERNAL_REF_LOOKUP
BATCH = 1000


def _sealer():
    from shared.infra.crypto import Sealer
    from shared.infra.settings import setting_from_env

    keys = context.config.attributes.get('data_encryption_keys') or setting_from_env('DATA_ENCRYPTION_KEYS')
    if not keys:
        raise RuntimeError('intake_0004 converts external references with a data key: set DATA_ENCRYPTION_KEYS')
    return Sealer(keys)


def _batches(connection, query):
    last = ''
    while True:
        rows = connection.execute(query(last).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    op.add_column('participants', sa.Column('external_ref_lookup', sa.String(length=64), nullable=True))
    participants = sa.table(
        'participants',
        sa.column('id', sa.String),
        sa.column('external_ref', sa.String),
        sa.column('external_ref_lookup', sa.String),
    )
    waiting = connection.execute(
        sa.select(sa.func.count()).select_from(participants).where(participants.c.external_ref.is_not(None))
    ).scalar_one()
    if waiting:
        sealer = _sealer()
        query = lambda last: (  # noqa: E731
            sa.select(participants.c.id, participants.c.external_ref)
            .where(participants.c.external_ref.is_not(None), participants.c.id > last)
            .order_by(participants.c.id)
        )
        for rows in _batches(connection, query):
            for participant_id, external_ref in rows:
                connection.execute(
                    participants.update()
                    .where(participants.c.id == participant_id)
                    .values(external_ref_lookup=sealer.lookup_key(PURPOSE, external_ref), external_ref=None)
                )
    op.create_index(
        'uq_participants_external_ref_lookup', 'participants', ['tenant', 'external_ref_lookup'], unique=True
    )
    if not sqlite:
        op.drop_constraint('uq_participants_external_ref', 'participants', type_='unique')
        op.drop_column('participants', 'external_ref')


def downgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    if not sqlite:
        op.add_column('participants', sa.Column('external_ref', sa.String(length=100), nullable=True))
    participants = sa.table(
        'participants',
        sa.column('id', sa.String),
        sa.column('contact_sealed', sa.Text),
        sa.column('external_ref', sa.String),
        sa.column('external_ref_lookup', sa.String),
    )
    waiting = connection.execute(
        sa.select(sa.func.count()).select_from(participants).where(participants.c.external_ref_lookup.is_not(None))
    ).scalar_one()
    if waiting:
        sealer = _sealer()
        query = lambda last: (  # noqa: E731
            sa.select(participants.c.id, participants.c.contact_sealed)
            .where(participants.c.external_ref_lookup.is_not(None), participants.c.id > last)
            .order_by(participants.c.id)
        )
        for rows in _batches(connection, query):
            for participant_id, sealed in rows:
                connection.execute(
                    participants.update()
                    .where(participants.c.id == participant_id)
                    .values(external_ref=sealer.open(sealed).get('external_ref'))
                )
    op.drop_index('uq_participants_external_ref_lookup', table_name='participants')
    if not sqlite:
        op.create_unique_constraint('uq_participants_external_ref', 'participants', ['tenant', 'external_ref'])
    op.drop_column('participants', 'external_ref_lookup')
