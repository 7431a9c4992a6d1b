"""The audit log is append-only in the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.infra import db, migrations
from shared.infra.audit import audit_log
from tests.support import factories


@pytest.fixture
def audited_engine(intake_api, intake) -> sa.Engine:
    """intake's database with one audit row: staff opened an engagement."""
    assert intake_api.post("/v1/engagements", json=factories.engagement_payload()).status_code == 201
    return intake.engine


def rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as connection:
        return connection.execute(sa.select(audit_log)).all()


def test_a_row_cannot_be_updated_or_deleted(audited_engine):
    [before] = rows(audited_engine)

    for statement in (
        audit_log.update().values(status=200, key_id="someone-else"),
        audit_log.delete(),
        sa.text("DELETE FROM audit_log WHERE id = :id").bindparams(id=before.id),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), audited_engine.begin() as connection:
            connection.execute(statement)

    assert rows(audited_engine) == [before]


@pytest.mark.parametrize("database_backend", ["postgresql"])  # SQLite has no TRUNCATE
def test_the_table_cannot_be_truncated_on_postgresql(audited_engine):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), audited_engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE audit_log"))
    assert len(rows(audited_engine)) == 1


@pytest.mark.parametrize("service", ["decisions", "notifier"])
def test_every_service_database_gets_the_log_and_its_guard(settings, service):
    migrations.upgrade_service(service, settings.database_url(service))
    engine = db.create_engine(settings.database_url(service))
    try:
        with engine.begin() as connection:
            connection.execute(audit_log.insert().values(**factories.audit_row()))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(audit_log.delete())
    finally:
        engine.dispose()
