"""Erasing a participant at their request: intake forgets who they were, keeps the chain."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from services.intake.adapters.tables import contributions, equality_answers, participants
from services.intake.entrypoints.schemas import ContributionSchema, EngagementSchema, ParticipantSchema
from services.intake.service_layer import services
from shared.infra.tables import outbox, utcnow
from shared.rules.constants import (
    CONTRIBUTION_RECEIVED,
    CONTRIBUTIONS_TOPIC,
    ERASED_TEXT,
    PARTICIPANT_ERASED,
    PARTICIPANTS_TOPIC,
    ROLE_CASE_SYSTEM,
)
from shared.rules.domain import InvalidInput, NotFound
from tests.support import factories
from tests.support.privacy import database_contents, tables_holding


def submit(intake, tenant: str, payload: dict):
    contribution, _ = services.submit_contribution(
        intake.uow(),
        services.Submitter(tenant=tenant, role=ROLE_CASE_SYSTEM, identity="key-under-test"),
        ContributionSchema().load(payload),
        now=intake.clock(),
        source=intake.source,
    )
    return contribution


def register(intake, tenant: str, payload: dict):
    participant, _ = services.register_participant(
        intake.uow(), tenant, ParticipantSchema().load(payload), now=intake.clock(), source=intake.source
    )
    return participant


def erase(intake, tenant: str, participant_id: str):
    return services.erase_participant(intake.uow(), tenant, participant_id, now=intake.clock(), source=intake.source)


def rows(intake, table: sa.Table) -> list:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def outbox_rows(intake) -> list:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(outbox).order_by(outbox.c.id)).all()


def mark_published(intake) -> None:
    with intake.engine.begin() as connection:
        connection.execute(outbox.update().values(published_at=utcnow()))


def by_id(engagement_id: str, participant_id: str, **overrides) -> dict:
    """A contribution naming a known participant by id."""
    payload = factories.contribution_payload(engagement_id, participant_id=participant_id, **overrides)
    del payload["participant"]
    return payload


@pytest.fixture
def engagement_id(intake, council) -> str:
    data = EngagementSchema().load(factories.engagement_payload())
    return services.create_engagement(intake.uow(), council.slug, data, now=intake.clock(), source=intake.source).id


@pytest.fixture
def person() -> dict:
    return factories.participant_payload(
        name="Dorothea Quillfeather",
        external_ref="CASE-ERASE-1",
        equality=factories.equality_answers(),
        preferred_channel="post",
        **factories.postal_address(),
    )


@pytest.fixture
def erased(intake, council, engagement_id, person):
    """A participant with two contributions, then erased: (participant, [contributions])."""
    words = ["Dorothea wants the Tuesday lunch club back.", "Dorothea's carer needs respite on Fridays."]
    first = submit(
        intake, council.slug, factories.contribution_payload(engagement_id, participant=person, text=words[0])
    )
    second = submit(intake, council.slug, by_id(engagement_id, first.participant_id, text=words[1]))
    return erase(intake, council.slug, first.participant_id), [first, second]


class TestWhatGoes:
    def test_name_contact_external_ref_and_equality_answers_are_gone_and_the_participant_is_marked_erased(
        self, intake, council, erased, person
    ):
        participant, _ = erased

        [row] = rows(intake, participants)
        assert row.erased_at is not None
        assert row.external_ref_lookup is None
        assert (row.preferred_channel, row.consent_to_contact) == ("none", False)
        assert intake.sealer.open(row.contact_sealed) == {
            "name": None,
            "email": None,
            "phone": None,
            "address_lines": None,
            "postcode": None,
            "external_ref": None,
        }
        assert rows(intake, equality_answers) == []
        shown = services.get_participant(intake.uow(read_only=True), council.slug, participant.id)
        assert shown.erased_at is not None
        assert (shown.contact.name, shown.contact.email, shown.contact.phone) == (None, None, None)
        assert (shown.contact.address_lines, shown.contact.postcode) == (None, None)

    def test_contributions_keep_their_place_in_the_chain_without_the_words(self, intake, erased):
        _, before = erased

        after = {row.id: row for row in rows(intake, contributions)}
        for contribution in before:
            kept = after[contribution.id]
            assert kept.text == ERASED_TEXT
            assert (kept.reference, kept.type, kept.engagement_id, kept.on_behalf_of, kept.received_at) == (
                contribution.reference,
                contribution.type,
                contribution.engagement_id,
                contribution.on_behalf_of,
                contribution.received_at,
            )

    def test_nothing_intake_holds_says_who_they_were_or_what_they_said(self, intake, erased, person):
        details = [person["name"], person["email"], person["phone"], person["external_ref"], "Dorothea", "Quaker"]

        assert tables_holding(database_contents(intake.engine, intake.sealer), details) == {}

    def test_until_then_the_same_search_finds_them_everywhere_intake_keeps_them(
        self, intake, council, engagement_id, person
    ):
        submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=person))

        found = tables_holding(database_contents(intake.engine, intake.sealer), [person["email"], "Quaker"])

        assert found == {"participants": [person["email"]], "equality_answers": ["Quaker"], "outbox": [person["email"]]}

    def test_the_erasure_is_announced_once_keyed_by_the_participant_with_nothing_personal(
        self, intake, council, erased
    ):
        participant, _ = erased
        erase(intake, council.slug, participant.id)  # again: nothing new

        [announcement] = [row for row in outbox_rows(intake) if row.topic == PARTICIPANTS_TOPIC]
        event = json.loads(announcement.payload)
        assert (announcement.message_key, event["type"], event["tenant"]) == (
            participant.id,
            PARTICIPANT_ERASED,
            council.slug,
        )
        assert set(event["data"]) == {"id", "erased_at"}


class TestTheOutbox:
    def test_published_events_about_the_person_are_dropped_and_waiting_ones_go_out_without_the_words(
        self, intake, council, engagement_id, person
    ):
        published = submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=person))
        mark_published(intake)
        waiting = submit(intake, council.slug, by_id(engagement_id, published.participant_id))

        erase(intake, council.slug, published.participant_id)

        left = [(row.topic, row.message_key, json.loads(row.payload)) for row in outbox_rows(intake)]
        about_them = [
            (topic, key, e["type"]) for topic, key, e in left if key in (published.id, published.participant_id)
        ]
        assert about_them == [(PARTICIPANTS_TOPIC, published.participant_id, PARTICIPANT_ERASED)]
        [(_, _, received)] = [item for item in left if item[1] == waiting.id]
        assert received["type"] == CONTRIBUTION_RECEIVED
        assert intake.sealer.open(received["data"]["sealed_text"]) == ERASED_TEXT
        assert received["data"]["reference"] == waiting.reference

    def test_other_peoples_events_are_left_alone(self, intake, council, engagement_id, erased):
        someone_else = submit(intake, council.slug, factories.contribution_payload(engagement_id))

        erase(intake, council.slug, erased[0].id)

        [received] = [
            json.loads(row.payload)
            for row in outbox_rows(intake)
            if row.topic == CONTRIBUTIONS_TOPIC and row.message_key == someone_else.id
        ]
        assert intake.sealer.open(received["data"]["sealed_text"]) == someone_else.text


class TestNoResurrection:
    def test_a_submission_naming_an_erased_participant_is_refused(self, intake, council, engagement_id, erased):
        participant, _ = erased

        with pytest.raises(InvalidInput) as refused:
            submit(intake, council.slug, by_id(engagement_id, participant.id))
        assert "participant_id" in refused.value.errors

    def test_registering_the_same_external_ref_again_is_a_new_person_with_nothing_carried_over(
        self, intake, council, erased, person
    ):
        participant, _ = erased

        again = register(intake, council.slug, {**person, "equality": None})

        assert again.id != participant.id
        assert again.erased_at is None
        old = services.get_participant(intake.uow(read_only=True), council.slug, participant.id)
        assert (old.erased_at is not None, old.contact.name, old.external_ref) == (True, None, None)


class TestWhoMayErase:
    def test_erasing_twice_changes_nothing_the_second_time(self, intake, council, erased):
        participant, _ = erased
        before = rows(intake, participants)

        again = erase(intake, council.slug, participant.id)

        assert again.erased_at == participant.erased_at
        assert rows(intake, participants) == before

    def test_another_councils_participant_is_not_found_and_untouched(
        self, intake, council, other_council, engagement_id, person
    ):
        theirs = submit(intake, council.slug, factories.contribution_payload(engagement_id, participant=person))

        for unknown in (theirs.participant_id, "no-such-participant"):
            with pytest.raises(NotFound):
                erase(intake, other_council.slug, unknown)

        [row] = rows(intake, participants)
        assert row.erased_at is None
        assert intake.sealer.open(row.contact_sealed)["name"] == person["name"]
