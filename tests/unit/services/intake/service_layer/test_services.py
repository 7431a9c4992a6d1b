"""Intake's use cases on a real SQLite unit of work."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from services.intake.adapters.tables import contributions, equality_answers, participants
from services.intake.entrypoints.schemas import ContributionSchema, EngagementSchema, ParticipantSchema
from services.intake.service_layer import services
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.infra import db
from shared.infra.tables import outbox
from shared.rules.constants import (
    CONTRIBUTION_RECEIVED,
    CONTRIBUTIONS_TOPIC,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    PARTICIPANTS_TOPIC,
    ROLE_CASE_SYSTEM,
)
from shared.rules.contact_details import phone_number
from shared.rules.domain import InvalidInput, NotFound
from tests.support import factories


def new_engagement(intake, tenant: str) -> str:
    data = EngagementSchema().load(factories.engagement_payload())
    return services.create_engagement(intake.uow(), tenant, data, now=intake.clock(), source=intake.source).id


def submit(intake, tenant: str, payload: dict, *, now: dt.datetime | None = None, idempotency_key: str | None = None):
    """Submit a request body as a case system would; (contribution, created)."""
    return services.submit_contribution(
        intake.uow(),
        services.Submitter(tenant=tenant, role=ROLE_CASE_SYSTEM, identity="key-under-test"),
        ContributionSchema().load(payload),
        now=now or intake.clock(),
        source=intake.source,
        idempotency_key=idempotency_key,
        request_fingerprint=services.fingerprint(payload) if idempotency_key else None,
    )


def register(intake, tenant: str, payload: dict):
    data = ParticipantSchema().load(payload)
    return services.register_participant(intake.uow(), tenant, data, now=intake.clock(), source=intake.source)


def rows(intake, table: sa.Table) -> list:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def announced(intake, topic: str, type_: str | None = None) -> list[dict]:
    with intake.engine.connect() as connection:
        payloads = connection.execute(
            sa.select(outbox.c.payload).where(outbox.c.topic == topic).order_by(outbox.c.id)
        ).scalars()
        found = [json.loads(payload) for payload in payloads]
    return [e for e in found if type_ is None or e["type"] == type_]


def everything_announced(intake) -> bytes:
    with intake.engine.connect() as connection:
        return b"\n".join(connection.execute(sa.select(outbox.c.payload)).scalars())


@pytest.fixture
def engagement_id(intake, council) -> str:
    return new_engagement(intake, council.slug)


class TestReferences:
    def test_numbers_count_up_within_a_tenant_and_apart_across_tenants(self, intake, council, other_council):
        ours, theirs = new_engagement(intake, council.slug), new_engagement(intake, other_council.slug)
        now = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)

        references = [
            submit(intake, council.slug, factories.contribution_payload(ours), now=now)[0].reference for _ in range(3)
        ]
        theirs_first, _ = submit(intake, other_council.slug, factories.contribution_payload(theirs), now=now)

        assert references == ["WILTSHIRE-2026-000001", "WILTSHIRE-2026-000002", "WILTSHIRE-2026-000003"]
        assert theirs_first.reference == "DORSET-2026-000001"

    def test_numbers_start_again_in_a_new_year(self, intake, council, engagement_id):
        new_years_eve = dt.datetime(2026, 12, 31, 23, 50, tzinfo=dt.UTC)
        new_years_day = dt.datetime(2027, 1, 1, 0, 10, tzinfo=dt.UTC)

        references = [
            submit(intake, council.slug, factories.contribution_payload(engagement_id), now=when)[0].reference
            for when in (new_years_eve, new_years_eve, new_years_day)
        ]

        assert references == ["WILTSHIRE-2026-000001", "WILTSHIRE-2026-000002", "WILTSHIRE-2027-000001"]

    def test_a_refused_contribution_leaves_nothing_behind(self, intake, council, engagement_id):
        now = intake.clock()
        too_late = factories.contribution_payload(engagement_id, submitted_at=(now + dt.timedelta(hours=1)).isoformat())

        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, too_late, now=now)

        assert set(caught.value.errors) == {"submitted_at"}
        assert rows(intake, contributions) == []
        assert rows(intake, participants) == []
        assert announced(intake, CONTRIBUTIONS_TOPIC) == []
        assert announced(intake, PARTICIPANTS_TOPIC) == []
        accepted, _ = submit(intake, council.slug, factories.contribution_payload(engagement_id), now=now)
        assert accepted.reference.endswith("-000001")


class TestParticipants:
    def test_the_same_external_ref_is_the_same_person(self, intake, council):
        payload = factories.participant_payload(external_ref="ADULTS-4411")

        first, created_first = register(intake, council.slug, payload)
        again, created_again = register(intake, council.slug, payload)

        assert (created_first, created_again) == (True, False)
        assert again.id == first.id
        assert len(rows(intake, participants)) == 1
        assert len(announced(intake, PARTICIPANTS_TOPIC, PARTICIPANT_REGISTERED)) == 1
        assert announced(intake, PARTICIPANTS_TOPIC, PARTICIPANT_UPDATED) == []

    def test_the_external_ref_is_kept_only_sealed_and_found_by_its_keyed_hash(self, intake, council):
        payload = factories.participant_payload(external_ref="ADULTS-4411")

        first, _ = register(intake, council.slug, payload)
        again, created = register(intake, council.slug, payload)

        assert (again.id, created, again.external_ref) == (first.id, False, "ADULTS-4411")
        with intake.engine.connect() as connection:  # every column the table has, whatever the ORM knows
            stored = " ".join(str(v) for row in connection.exec_driver_sql("SELECT * FROM participants") for v in row)
        assert "4411" not in stored
        assert intake.sealer.lookup_key("participant.external_ref", "ADULTS-4411") in stored

    def test_new_details_for_a_known_person_are_saved_and_announced(self, intake, council):
        payload = factories.participant_payload(external_ref="ADULTS-4411")
        first, _ = register(intake, council.slug, payload)
        moved = {**payload, "email": factories.participant_payload()["email"], "language": "cy"}

        register(intake, council.slug, moved)

        stored = services.get_participant(intake.uow(), council.slug, first.id)
        assert stored.contact.email == moved["email"]
        assert stored.language == "cy"
        [update] = announced(intake, PARTICIPANTS_TOPIC, PARTICIPANT_UPDATED)
        assert update["data"]["id"] == first.id
        assert intake.sealer.open(update["data"]["sealed_contact"])["email"] == moved["email"]

    def test_the_same_external_ref_in_another_tenant_is_another_person(self, intake, council, other_council):
        payload = factories.participant_payload(external_ref="ADULTS-4411")

        ours, _ = register(intake, council.slug, payload)
        theirs, created = register(intake, other_council.slug, payload)

        assert created is True
        assert theirs.id != ours.id

    def test_a_contribution_from_a_known_person_reuses_them(self, intake, council, engagement_id):
        person = factories.participant_payload(external_ref="ADULTS-4411")

        first, _ = submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=person))
        second, _ = submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=person))

        assert first.participant_id == second.participant_id
        assert len(rows(intake, participants)) == 1

    def test_equality_answers_are_kept_apart_sealed_and_never_announced(self, intake, council):
        answers = {"age_band": "65-74", "carer": "Cares for a disabled partner", "religion_or_belief": "Quaker"}

        person, _ = register(intake, council.slug, factories.participant_payload(equality=answers))

        [kept] = rows(intake, equality_answers)
        assert (kept.participant_id, intake.sealer.open(kept.answers_sealed)) == (person.id, answers)
        assert "Quaker" not in kept.answers_sealed
        on_topics = everything_announced(intake)
        for question, answer in answers.items():
            assert question.encode() not in on_topics
            assert answer.encode() not in on_topics
        [registered] = announced(intake, PARTICIPANTS_TOPIC)
        sealed_contact = intake.sealer.open(registered["data"]["sealed_contact"])
        assert set(sealed_contact) == {"name", "email", "phone", "address_lines", "postcode", "external_ref"}

    def test_contact_details_are_encrypted_at_rest(self, intake, council):
        payload = factories.participant_payload(phone="07700 900123", **factories.postal_address())

        person, _ = register(intake, council.slug, payload)

        stored = " ".join(str(value) for row in rows(intake, participants) for value in row)
        for detail in (payload["name"], payload["email"], "+447700900123", *payload["address_lines"], "CF10 1BH"):
            assert detail not in stored
        opened = services.get_participant(intake.uow(), council.slug, person.id).contact
        assert (opened.name, opened.email, opened.phone) == (payload["name"], payload["email"], "+447700900123")
        assert (opened.address_lines, opened.postcode) == (payload["address_lines"], "CF10 1BH")

    def test_participant_events_carry_contact_details_only_sealed(self, intake, council):
        payload = factories.participant_payload(external_ref="ADULTS-4411")

        register(intake, council.slug, payload)

        [registered] = announced(intake, PARTICIPANTS_TOPIC)
        assert set(registered["data"]) == {
            "id",
            "preferred_channel",
            "language",
            "format",
            "consent_to_contact",
            "sealed_contact",
        }
        on_topics = everything_announced(intake)
        for detail in ("name", "email", "phone", "external_ref"):
            assert payload[detail].encode() not in on_topics
        assert phone_number(payload["phone"]).encode() not in on_topics
        assert intake.sealer.open(registered["data"]["sealed_contact"]) == {
            "name": payload["name"],
            "email": payload["email"],
            "phone": phone_number(payload["phone"]),  # as every service keeps it: E.164
            "address_lines": None,
            "postcode": None,
            "external_ref": payload["external_ref"],
        }

    def test_a_person_who_wants_email_must_give_one(self, intake, council, engagement_id):
        no_email = factories.participant_payload(email=None, preferred_channel="email", consent_to_contact=True)

        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=no_email))

        assert set(caught.value.errors) == {"participant.email"}

    def test_another_tenants_participant_is_not_found(self, intake, council, other_council):
        person, _ = register(intake, council.slug, factories.participant_payload())

        with pytest.raises(NotFound):
            services.get_participant(intake.uow(), other_council.slug, person.id)


class TestContributions:
    def test_the_announcement_carries_the_text_sealed_only(self, intake, council, engagement_id):
        payload = factories.contribution_payload(engagement_id)

        contribution, created = submit(intake, council.slug, payload)

        assert created is True
        [received] = announced(intake, CONTRIBUTIONS_TOPIC, CONTRIBUTION_RECEIVED)
        assert received["subject"] == contribution.id
        assert received["data"]["reference"] == contribution.reference
        assert "text" not in received["data"]
        assert payload["text"].encode() not in everything_announced(intake)
        assert intake.sealer.open(received["data"]["sealed_text"]) == payload["text"]

    def test_a_known_participant_can_be_named_by_id(self, intake, council, engagement_id):
        person, _ = register(intake, council.slug, factories.participant_payload())
        payload = factories.contribution_payload(engagement_id, participant_id=person.id)
        del payload["participant"]

        contribution, _ = submit(intake, council.slug, payload)

        assert contribution.participant_id == person.id

    def test_an_unknown_engagement_is_refused(self, intake, council):
        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, factories.contribution_payload(str(uuid.uuid4())))

        assert set(caught.value.errors) == {"engagement_id"}

    def test_another_tenants_engagement_is_refused_like_an_unknown_one(self, intake, council, other_council):
        theirs = new_engagement(intake, other_council.slug)

        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, factories.contribution_payload(theirs))

        assert caught.value.errors == {"engagement_id": ["Unknown engagement."]}

    def test_an_unknown_participant_id_is_refused(self, intake, council, engagement_id):
        payload = factories.contribution_payload(engagement_id, participant_id=str(uuid.uuid4()))
        del payload["participant"]

        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, payload)

        assert set(caught.value.errors) == {"participant_id"}

    def test_another_tenants_contribution_is_not_found(self, intake, council, other_council, engagement_id):
        contribution, _ = submit(intake, council.slug, factories.contribution_payload(engagement_id))

        with pytest.raises(NotFound):
            services.get_contribution(intake.uow(), other_council.slug, contribution.id)


class TestIdempotency:
    def test_a_repeated_request_returns_the_first_contribution(self, intake, council, engagement_id):
        payload = factories.contribution_payload(engagement_id)

        first, created_first = submit(intake, council.slug, payload, idempotency_key="case-991")
        again, created_again = submit(intake, council.slug, payload, idempotency_key="case-991")

        assert (created_first, created_again) == (True, False)
        assert (again.id, again.reference) == (first.id, first.reference)
        assert len(rows(intake, contributions)) == 1
        assert len(announced(intake, CONTRIBUTIONS_TOPIC)) == 1

    def test_a_different_request_under_a_used_key_is_refused(self, intake, council, engagement_id):
        submit(intake, council.slug, factories.contribution_payload(engagement_id), idempotency_key="case-991")

        with pytest.raises(InvalidInput) as caught:
            submit(intake, council.slug, factories.contribution_payload(engagement_id), idempotency_key="case-991")

        assert set(caught.value.errors) == {"Idempotency-Key"}
        assert len(rows(intake, contributions)) == 1

    def test_keys_of_different_tenants_do_not_collide(self, intake, council, other_council, engagement_id):
        theirs = new_engagement(intake, other_council.slug)

        ours, _ = submit(intake, council.slug, factories.contribution_payload(engagement_id), idempotency_key="1")
        other, created = submit(intake, other_council.slug, factories.contribution_payload(theirs), idempotency_key="1")

        assert created is True
        assert other.id != ours.id


class _SomethingHappensMeanwhile(IntakeUnitOfWork):
    """A unit of work in which another request changes things between a submission's
    reads (checks, sealing) and its write, as a concurrent request on another worker can."""

    def __init__(self, intake, meanwhile):
        super().__init__(db.session_factory(intake.engine), intake.sealer)
        self._meanwhile = meanwhile

    @contextmanager
    def reading(self):
        with super().reading() as uow:
            yield uow
        self._meanwhile()


def submit_with(intake, tenant: str, payload: dict, meanwhile):
    return services.submit_contribution(
        _SomethingHappensMeanwhile(intake, meanwhile),
        services.Submitter(tenant=tenant, role=ROLE_CASE_SYSTEM, identity="key-under-test"),
        ContributionSchema().load(payload),
        now=intake.clock(),
        source=intake.source,
    )


class TestConcurrentChanges:
    def test_a_person_erased_while_their_submission_is_checked_is_not_written_to(self, intake, council, engagement_id):
        person, _ = register(intake, council.slug, factories.participant_payload())

        def erase():
            services.erase_participant(intake.uow(), council.slug, person.id, now=intake.clock(), source=intake.source)

        payload = factories.contribution_payload(engagement_id, participant_id=person.id)
        del payload["participant"]
        with pytest.raises(InvalidInput) as refused:
            submit_with(intake, council.slug, payload, erase)

        assert "participant_id" in refused.value.errors
        assert rows(intake, contributions) == []

    def test_a_person_registered_meanwhile_under_the_same_external_ref_is_the_one_contributing(
        self, intake, council, engagement_id
    ):
        person = factories.participant_payload(external_ref="ADULTS-4411")
        registered = []

        def register_them():
            registered.append(
                register(intake, council.slug, factories.participant_payload(external_ref="ADULTS-4411"))[0]
            )

        contribution, created = submit_with(
            intake, council.slug, factories.contribution_payload(engagement_id, participant=person), register_them
        )

        assert created is True
        assert contribution.participant_id == registered[0].id
        assert len(rows(intake, participants)) == 1
        opened = services.get_participant(intake.uow(), council.slug, registered[0].id).contact
        assert (opened.name, opened.email) == (person["name"], person["email"])
