"""intake_0005 (services/intake/migrations): equality answers given before it stay counted,
sealed, with nothing plain left; and a downgrade gives them back; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from services.intake.adapters.repository import ParticipantRepository
from shared.infra import migrations
from shared.infra.crypto import Sealer
from shared.infra.db import create_engine

KEY = Sealer.generate_key()
ANSWERS = [{"age_band": "65-74", "religion_or_belief": "Quaker"}, {"carer": "Cares for a disabled partner"}]


def person(sealer: Sealer) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "tenant": "wiltshire",
        "contact_sealed": sealer.seal({"name": None, "email": None, "phone": None, "external_ref": None}),
        "preferred_channel": "none",
        "language": "en",
        "format": "standard",
        "consent_to_contact": False,
        "created_at": "2026-01-05 10:00:00+00:00",
        "updated_at": "2026-01-05 10:00:00+00:00",
    }


@pytest.fixture
def before_0005(database_urls):
    """An intake database at intake_0004 with two people's plain equality answers."""
    url = database_urls["intake"]
    config = migrations._config(url, migrations.service_version_dirs("intake"))
    command.upgrade(config, "intake_0004")
    command.upgrade(config, "heads")
    command.downgrade(config, "intake_0004")
    sealer = Sealer([KEY])
    people = [person(sealer) for _ in ANSWERS]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.table("participants", *(sa.column(name) for name in people[0])).insert(), people)
        connection.execute(
            sa.table(
                "equality_answers", *(sa.column(n) for n in ("participant_id", "tenant", "answers", "recorded_at"))
            ).insert(),
            [
                {
                    "participant_id": p["id"],
                    "tenant": "wiltshire",
                    "answers": json.dumps(a),
                    "recorded_at": p["created_at"],
                }
                for p, a in zip(people, ANSWERS, strict=True)
            ],
        )
    yield url, engine, config
    engine.dispose()


def stored_text(engine) -> str:
    with engine.connect() as connection:
        return " ".join(str(v) for row in connection.exec_driver_sql("SELECT * FROM equality_answers") for v in row)


def test_answers_are_sealed_and_still_counted(before_0005):
    url, engine, _ = before_0005

    migrations.upgrade_service("intake", url, (KEY,))

    assert "Quaker" not in stored_text(engine) and "65-74" not in stored_text(engine)
    with engine.connect() as connection:
        repository = ParticipantRepository(sa.orm.Session(bind=connection), Sealer([KEY]))
        assert sorted(repository.equality_answer_sets("wiltshire", None), key=len) == sorted(ANSWERS, key=len)


def test_a_downgrade_gives_the_plain_answers_back(before_0005, monkeypatch):
    url, engine, config = before_0005
    migrations.upgrade_service("intake", url, (KEY,))
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", KEY)

    command.downgrade(config, "intake_0004")

    with engine.connect() as connection:
        answers = connection.exec_driver_sql("SELECT answers FROM equality_answers").scalars().all()
    assert sorted((a if isinstance(a, dict) else json.loads(a) for a in answers), key=len) == sorted(ANSWERS, key=len)
