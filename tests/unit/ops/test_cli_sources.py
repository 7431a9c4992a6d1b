"""The operator's `outcomes sources` commands (registered case systems), called in-process on the suite's SQLite databases."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ops import cli
from services.intake.adapters.tables import contributions
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.messaging.consumer import Message
from shared.rules.constants import SOURCE_NOT_REGISTERED, SUBMISSIONS_TOPIC
from tests.support import factories

CHILDRENS = "https://case-system.example.gov.uk/childrens-services"


def submit_from(intake, tenant: str, engagement_id: str, source: str, offset: int) -> None:
    event = factories.submission_event(tenant, factories.contribution_payload(engagement_id), source=source)
    intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, offset, None, events.dumps(event))])


def rows(intake, table: sa.Table) -> list:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


class TestSources:
    def test_a_registered_source_is_listed_and_its_submissions_accepted(self, intake, council, engagement, capsys):
        assert cli.main(["sources", "add", "--tenant", council.slug, CHILDRENS]) == 0
        assert f"registered: {CHILDRENS} for {council.slug}" in capsys.readouterr().out

        submit_from(intake, council.slug, engagement["id"], CHILDRENS, 0)

        assert len(rows(intake, contributions)) == 1
        assert cli.main(["sources", "list", "--tenant", council.slug]) == 0
        listed = [json.loads(line)["source"] for line in capsys.readouterr().out.splitlines()]
        assert CHILDRENS in listed

    def test_adding_a_source_again_changes_nothing(self, intake, council, capsys):
        cli.main(["sources", "add", "--tenant", council.slug, CHILDRENS])

        assert cli.main(["sources", "add", "--tenant", council.slug, CHILDRENS]) == 0

        assert "already registered" in capsys.readouterr().out
        assert [s["source"] for s in intake.keys.list_sources(council.slug)].count(CHILDRENS) == 1

    def test_a_dead_letter_from_an_unregistered_source_is_accepted_on_replay_once_registered(
        self, intake, council, engagement, capsys
    ):
        submit_from(intake, council.slug, engagement["id"], CHILDRENS, 0)
        [dead_letter] = rows(intake, dead_letters)
        assert dead_letter.reason == SOURCE_NOT_REGISTERED

        cli.main(["sources", "add", "--tenant", council.slug, CHILDRENS])
        assert cli.main(["dead-letters", "replay", "intake", dead_letter.id]) == 0

        assert "replayed: accepted" in capsys.readouterr().out
        assert len(rows(intake, contributions)) == 1

    def test_a_removed_source_is_refused(self, intake, council, engagement, capsys):
        intake.keys.SOURCE_CACHE_SECONDS = 0.0  # this test's consumer re-reads the registry at once

        assert cli.main(["sources", "remove", "--tenant", council.slug, factories.CASE_SYSTEM_SOURCE]) == 0
        submit_from(intake, council.slug, engagement["id"], factories.CASE_SYSTEM_SOURCE, 0)

        assert rows(intake, contributions) == []
        assert [d.reason for d in rows(intake, dead_letters)] == [SOURCE_NOT_REGISTERED]
        assert f"removed: {factories.CASE_SYSTEM_SOURCE} for {council.slug}" in capsys.readouterr().out

    def test_mistakes_are_reported_plainly(self, intake, council, capsys):
        assert cli.main(["sources", "add", "--tenant", "atlantis", CHILDRENS]) == 2
        assert "no tenant 'atlantis'" in capsys.readouterr().err
        assert cli.main(["sources", "add", "--tenant", council.slug, "not a uri"]) == 2
        assert "printable ASCII characters, no spaces" in capsys.readouterr().err
        assert cli.main(["sources", "remove", "--tenant", council.slug, CHILDRENS]) == 2
        assert f"has no source {CHILDRENS!r}" in capsys.readouterr().err
        assert [s["source"] for s in intake.keys.list_sources(council.slug)] == [factories.CASE_SYSTEM_SOURCE]
