"""Retiring a data key with `outcomes reencrypt`, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ops import cli
from services.intake.adapters.tables import participants
from shared.infra.crypto import Sealer
from tests.support import factories
from tests.support.chain import chain_with_keys, deployed_on, feed

OLD, NEW = Sealer.generate_key(), Sealer.generate_key()


@pytest.fixture
def deployed_on_the_old_key(settings):
    chain, council, seeded = deployed_on(settings, OLD)
    chain.dispose()
    return council, seeded


def reencrypt(monkeypatch, capsys, keys: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", keys)
    status = cli.main(["reencrypt", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_old_key_can_be_dropped_once_every_service_is_reencrypted(
    settings, deployed_on_the_old_key, monkeypatch, capsys
):
    council, seeded = deployed_on_the_old_key

    status, out, _ = reencrypt(monkeypatch, capsys, f"{NEW},{OLD}", "--all")
    assert status == 0
    assert "intake participants: 1 rows, 1 re-encrypted, 0 already on the primary key" in out
    assert "decisions contributions_view: 1 rows, 1 re-encrypted" in out
    assert "notifier recipients: 1 rows, 1 re-encrypted" in out
    assert "notifier notifications: 2 rows, 1 re-encrypted, 1 already on the primary key" in out  # one holds nothing

    status, again, _ = reencrypt(monkeypatch, capsys, f"{NEW},{OLD}", "--all")
    assert status == 0
    assert " 0 re-encrypted" in again and all(" 0 re-encrypted" in line for line in again.splitlines())

    after = chain_with_keys(settings, NEW)
    participant = after.intake_api(council).get(f"/v1/participants/{seeded.participant['id']}").json
    assert (participant["name"], participant["email"]) == (seeded.participant["name"], seeded.participant["email"])
    feed(after.decisions, after.notifier, after_id=seeded.told)  # written under the old key, not yet published
    after.send_all()
    assert [m.to for m in after.provider.sent] == [seeded.participant["email"]] * 3
    assert seeded.influence in after.provider.sent[1].text
    assert seeded.note in after.provider.sent[2].text
    after.dispose()


def test_a_value_no_key_opens_is_named_and_the_run_says_so(settings, deployed_on_the_old_key, monkeypatch, capsys):
    chain = chain_with_keys(settings, OLD)
    council, _ = deployed_on_the_old_key
    lost = chain.intake_api(council).post("/v1/participants", json=factories.participant_payload()).json
    with chain.intake.engine.begin() as connection:
        connection.execute(
            participants.update()
            .where(participants.c.id == lost["id"])
            .values(contact_sealed=Sealer([Sealer.generate_key()]).seal({"name": "sealed elsewhere"}))
        )
    chain.dispose()

    status, out, err = reencrypt(monkeypatch, capsys, f"{NEW},{OLD}", "intake")

    assert status == 1
    assert "intake participants: 2 rows, 1 re-encrypted, 0 already on the primary key" in out
    assert f"intake participants id={lost['id']}: no configured key opens it" in err


def test_the_services_to_reencrypt_must_be_named(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["reencrypt"])
    assert "name the services to reencrypt, or --all" in capsys.readouterr().err
