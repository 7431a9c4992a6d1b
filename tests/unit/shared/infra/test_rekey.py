"""Moving stored personal data onto a new key, so the old one can be dropped."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
import sqlalchemy as sa

from services.decisions.adapters.tables import metadata as decisions_metadata
from services.intake.adapters.tables import metadata as intake_metadata
from services.intake.adapters.tables import participants
from services.notifier.adapters.tables import metadata as notifier_metadata
from shared.infra import rekey
from shared.infra.crypto import Sealer, UnreadableCiphertext
from shared.infra.tables import dead_letters, platform_metadata
from tests.support import factories
from tests.support.chain import chain_with_keys, deployed_on, feed, outbox_messages

OLD, NEW = Sealer.generate_key(), Sealer.generate_key()
METADATA = {"intake": intake_metadata, "decisions": decisions_metadata, "notifier": notifier_metadata}


@pytest.fixture
def seeded(settings):
    """Everything written with the old key only: the deployment before the new key."""
    chain, council, seeded = deployed_on(settings, OLD)
    yield chain, council, seeded
    chain.dispose()


def reencrypt_all(chain, *keys: str, sealer: Sealer | None = None, batch_size: int = 500) -> dict[str, dict]:
    sealer = sealer or Sealer(keys)
    return {
        service: {
            report.table: report
            for report in rekey.reencrypt(
                getattr(chain, service).engine, [platform_metadata, metadata], sealer, batch_size=batch_size
            )
        }
        for service, metadata in METADATA.items()
    }


def test_after_reencrypting_the_old_key_can_go_and_every_service_still_reads_what_it_holds(settings, seeded):
    chain, council, seeded = seeded
    reports = reencrypt_all(chain, NEW, OLD)
    assert reports["intake"]["participants"].reencrypted == 1
    assert reports["decisions"]["contributions_view"].reencrypted == 1
    assert reports["notifier"]["recipients"].reencrypted == 1
    assert reports["notifier"]["notifications"].reencrypted == 1  # the decision's news: the influence, sealed
    assert reports["decisions"]["outbox"].reencrypted >= 1  # its events, the change's progress not yet published
    chain.dispose()

    after = chain_with_keys(settings, NEW)
    participant = after.intake_api(council).get(f"/v1/participants/{seeded.participant['id']}").json
    assert participant["email"] == seeded.participant["email"]
    chain_of = after.decisions_api(council).get(f"/v1/contributions/{seeded.contribution['id']}/outcome-chain")
    assert chain_of.json["contribution"]["text"] == seeded.text
    feed(after.decisions, after.notifier, after_id=seeded.told)  # written under the old key, not yet published
    after.send_all()
    assert [message.to for message in after.provider.sent] == [seeded.participant["email"]] * 3
    assert seeded.influence in after.provider.sent[1].text
    assert seeded.note in after.provider.sent[2].text
    after.dispose()


def test_a_dead_letter_keeps_its_original_readable_with_the_tokens_inside_it(settings, seeded):
    chain, council, seeded = seeded
    [registered] = [m for m in outbox_messages(chain.intake) if b"participant.registered" in m.value]
    # The same news about someone, for a council this deployment does not serve: dead-lettered.
    foreign = json.loads(registered.value) | {"tenant": "atlantis", "id": str(uuid.uuid4())}
    chain.notifier.processor.process([dataclasses.replace(registered, value=json.dumps(foreign).encode())])

    reencrypt_all(chain, NEW, OLD)

    with chain.notifier.engine.connect() as connection:
        [stored] = connection.execute(sa.select(dead_letters.c.sealed_payload)).scalars()
    original = json.loads(Sealer([NEW]).open_bytes(stored))
    assert Sealer([NEW]).open(original["data"]["sealed_contact"])["email"] == seeded.participant["email"]


def test_running_it_again_changes_nothing(seeded):
    chain, _, _ = seeded
    first = reencrypt_all(chain, NEW, OLD)
    again = reencrypt_all(chain, NEW, OLD)

    for service, tables in again.items():
        for table, report in tables.items():
            assert report.reencrypted == 0, (service, table)
            assert report.already_primary == first[service][table].rows, (service, table)


def test_a_run_stopped_half_way_loses_nothing_and_the_next_run_finishes(seeded):
    chain, council, _ = seeded
    api = chain.intake_api(council)
    engagement = api.as_("staff").post("/v1/engagements", json=factories.engagement_payload()).json
    for _ in range(4):
        api.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
    engine, tables = chain.intake.engine, [platform_metadata, intake_metadata]

    class StopsAfterThree(Sealer):
        calls = 0

        def reseal(self, token):
            StopsAfterThree.calls += 1
            if StopsAfterThree.calls > 3:
                raise KeyboardInterrupt
            return super().reseal(token)

    with pytest.raises(KeyboardInterrupt):
        rekey.reencrypt(engine, [intake_metadata], StopsAfterThree([NEW, OLD]), batch_size=1)
    [resumed] = [r for r in rekey.reencrypt(engine, tables, Sealer([NEW, OLD])) if r.table == "participants"]

    assert (resumed.rows, resumed.already_primary, resumed.reencrypted) == (5, 3, 2)
    with engine.connect() as connection:
        for token in connection.execute(sa.select(participants.c.contact_sealed)).scalars():
            Sealer([NEW]).open(token)


def test_a_value_no_key_opens_is_reported_by_row_and_the_rest_is_still_done(seeded):
    chain, council, seeded = seeded
    api = chain.intake_api(council)
    other = api.post("/v1/participants", json=factories.participant_payload()).json
    with chain.intake.engine.begin() as connection:
        connection.execute(
            participants.update()
            .where(participants.c.id == other["id"])
            .values(contact_sealed=Sealer([Sealer.generate_key()]).seal({"name": "lost"}))
        )

    reports = rekey.reencrypt(chain.intake.engine, [intake_metadata], Sealer([NEW, OLD]))
    [report] = [r for r in reports if r.table == "participants"]  # equality_answers is sealed too

    assert report.unreadable == [other["id"]]
    assert report.reencrypted == 1
    assert "1 unreadable" in report.summary()
    with pytest.raises(UnreadableCiphertext):
        Sealer([NEW]).open(_contact_of(chain, other["id"]))
    assert Sealer([NEW]).open(_contact_of(chain, seeded.participant["id"]))["email"] == seeded.participant["email"]


def _contact_of(chain, participant_id: str) -> str:
    with chain.intake.engine.connect() as connection:
        return connection.execute(
            sa.select(participants.c.contact_sealed).where(participants.c.id == participant_id)
        ).scalar_one()


def test_a_case_systems_reference_finds_its_person_before_during_and_after_rotation(settings, seeded):
    chain, council, _ = seeded
    touched, untouched = (factories.participant_payload(external_ref=ref) for ref in ("CASE-1", "CASE-2"))
    ids = {
        ref["external_ref"]: chain.intake_api(council).post("/v1/participants", json=ref).json["id"]
        for ref in (touched, untouched)
    }
    chain.dispose()

    during = chain_with_keys(settings, NEW, OLD)
    again = during.intake_api(council).post("/v1/participants", json=touched)
    assert (again.status_code, again.json["id"]) == (200, ids["CASE-1"])  # stored under OLD, found under NEW,OLD
    reports = reencrypt_all(during, NEW, OLD)
    assert reports["intake"]["participants"].reencrypted >= 2  # CASE-2's lookup key, and the seeded person
    during.dispose()

    after = chain_with_keys(settings, NEW)
    for person in (touched, untouched):
        found = after.intake_api(council).post("/v1/participants", json=person)
        assert (found.status_code, found.json["id"]) == (200, ids[person["external_ref"]])
    after.dispose()
