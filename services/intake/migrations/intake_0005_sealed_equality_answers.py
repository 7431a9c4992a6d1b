"""sealed equality answers: equality-monitoring answers encrypted at rest like contact details

`equality_answers.answers` (plain JSON) becomes `answers_sealed`, the same {question: answer}
sealed with the data key (shared/infra/crypto.py), so `outcomes reencrypt` moves it onto a new key
with the rest. Existing rows are converted, so this needs DATA_ENCRYPTION_KEYS (`outcomes
migrate` passes the settings'). Nothing refers to equality_answers, so SQLite may rebuild it.

Revision ID: intake_0005
Revises: intake_0004
"""
import json

from alembic import context, op
import sqlalchemy as sa


revision = 'intake_0005'
down_revision = 'intake_0004'
branch_labels = None
depends_on = None

BATCH = 1000


def _sealer():
    from shared.infra.crypto import Sealer
    from shared.infra.settings import setting_from_env

    keys = context.config.attributes.get('data_encryption_keys') or setting_from_env('DATA_ENCRYPTION_KEYS')
    if not keys:
        raise RuntimeError('intake_0005 seals equality answers with a data key: set DATA_ENCRYPTION_KEYS')
    return Sealer(keys)


def _convert(connection, table, source: str, target: str, change) -> None:
    """Rewrite `source` into `target` with `change`, in batches by participant id."""
    waiting = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if not waiting:
        return
    last = ''
    while True:
        rows = connection.execute(
            sa.select(table.c.participant_id, table.c[source])
            .where(table.c.participant_id > last)
            .order_by(table.c.participant_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for participant_id, value in rows:
            connection.execute(
                table.update().where(table.c.participant_id == participant_id).values({target: change(value)})
            )
        last = rows[-1][0]


def _table(*columns):
    return sa.table('equality_answers', sa.column('participant_id', sa.String), *columns)


def upgrade() -> None:
    connection = op.get_bind()
    op.add_column('equality_answers', sa.Column('answers_sealed', sa.Text(), nullable=True))
    table = _table(sa.column('answers', sa.JSON), sa.column('answers_sealed', sa.Text))
    sealer = None

    def seal(answers):
        nonlocal sealer
        sealer = sealer or _sealer()
        return sealer.seal(json.loads(answers) if isinstance(answers, str) else answers)

    _convert(connection, table, 'answers', 'answers_sealed', seal)
    with op.batch_alter_table('equality_answers') as batch:
        batch.alter_column('answers_sealed', existing_type=sa.Text(), nullable=False)
        batch.drop_column('answers')


def downgrade() -> None:
    connection = op.get_bind()
    op.add_column('equality_answers', sa.Column('answers', sa.JSON(), nullable=True))
    table = _table(sa.column('answers', sa.JSON), sa.column('answers_sealed', sa.Text))
    sealer = None

    def open_(sealed):
        nonlocal sealer
        sealer = sealer or _sealer()
        return sealer.open(sealed)

    _convert(connection, table, 'answers_sealed', 'answers', open_)
    with op.batch_alter_table('equality_answers') as batch:
        batch.alter_column('answers', existing_type=sa.JSON(), nullable=False)
        batch.drop_column('answers_sealed')
