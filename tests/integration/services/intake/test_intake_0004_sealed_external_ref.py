"""intake_0004 (services/intake/migrations): a database from before it keeps finding its
people, with nothing plain left; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from services.intake.adapters.repository import ParticipantRepository
from shared.infra import migrations
from shared.infra.crypto import Sealer
from shared.infra.db import create_engine
from tests.support import factories

KEY = Sealer.generate_key()


def participant_row(sealer: Sealer, tenant: str, external_ref: str | None) -> dict:
    person = factories.participant_payload(external_ref=external_ref)
    contact = {name: person[name] for name in ("name", "email", "phone", "external_ref")}
    return {
        "id": str(uuid.uuid4()),
        "tenant": tenant,
        "external_ref": external_ref,
        "contact_sealed": sealer.seal(contact),
        "preferred_channel": "email",
        "language": "en",
        "format": "standard",
        "consent_to_contact": True,
        "created_at": "2026-01-05 10:00:00+00:00",
        "updated_at": "2026-01-05 10:00:00+00:00",
    }


@pytest.fixture
def before_0004(database_urls):
    """An intake database at intake_0003 holding two people with plain references and one without."""
    url = database_urls["intake"]
    config = migrations._config(url, migrations.service_version_dirs("intake"))
    command.upgrade(config, "intake_0003")
    command.upgrade(config, "heads")  # the platform branch, which intake_0004 does not need
    command.downgrade(config, "intake_0003")
    sealer = Sealer([KEY])
    rows = [
        participant_row(sealer, "wiltshire", "ADULTS-1"),
        participant_row(sealer, "dorset", "ADULTS-1"),
        participant_row(sealer, "wiltshire", None),
    ]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.table("participants", *(sa.column(name) for name in rows[0])).insert(), rows)
    yield url, engine, rows
    engine.dispose()


def test_each_reference_is_replaced_by_its_keyed_hash_and_still_finds_its_person(before_0004):
    url, engine, rows = before_0004

    migrations.upgrade_service("intake", url, (KEY,))

    with engine.connect() as connection:
        stored = " ".join(str(v) for row in connection.exec_driver_sql("SELECT * FROM participants") for v in row)
        assert "ADULTS-1" not in stored
        repository = ParticipantRepository(sa.orm.Session(bind=connection), Sealer([Sealer.generate_key(), KEY]))
        assert repository.get_by_external_ref("wiltshire", "ADULTS-1").id == rows[0]["id"]
        assert repository.get_by_external_ref("dorset", "ADULTS-1").id == rows[1]["id"]
        assert repository.get(rows[0]["tenant"], rows[0]["id"]).external_ref == "ADULTS-1"


def test_without_a_data_key_it_refuses_to_convert_rather_than_lose_the_references(before_0004, monkeypatch):
    url, engine, _ = before_0004
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS", raising=False)

    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEYS"):
        migrations.upgrade_service("intake", url)

    with engine.connect() as connection:
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM participants WHERE external_ref IS NOT NULL").scalar() == 2
        )
