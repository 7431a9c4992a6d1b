"""The workspace's use cases (and the engagement changes it brings) on a real SQLite unit of work."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.intake.adapters.workspace import ContributionFilter
from services.intake.entrypoints.schemas import ContributionSchema, EngagementSchema
from services.intake.service_layer import services, workspace
from shared.rules.constants import ENGAGEMENT_UPDATED, ENGAGEMENTS_TOPIC, ROLE_STAFF
from shared.rules.domain import UK, InvalidInput, NotFound
from tests.support import factories
from tests.unit.services.intake.service_layer.test_services import announced, new_engagement


def record(intake, tenant: str, engagement_id: str, *, now=None, **overrides):
    payload = factories.contribution_payload(engagement_id, channel="phone", **overrides)
    contribution, _ = services.submit_contribution(
        intake.uow(),
        services.Submitter(tenant=tenant, role=ROLE_STAFF, identity="staff-key"),
        ContributionSchema().load(payload),
        now=now or intake.clock(),
        source=intake.source,
    )
    return contribution, payload


def today() -> dt.date:
    return dt.datetime.now(UK).date()


def set_feedback_due(intake, engagement_id: str, day: dt.date) -> None:
    with intake.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE engagements SET feedback_due = :day WHERE id = :id"), {"day": day, "id": engagement_id}
        )


class TestEngagementsAtAGlance:
    def test_overdue_first_then_open_then_closed(self, intake, council):
        closed, open_, overdue = (new_engagement(intake, council.slug) for _ in range(3))
        services.close_engagement(intake.uow(), council.slug, closed, now=intake.clock(), source=intake.source)
        set_feedback_due(intake, overdue, dt.date(2020, 1, 1))

        rows = workspace.engagements_at_a_glance(intake.uow(read_only=True), council.slug, today=today())

        assert [(row.engagement.id, row.state) for row in rows] == [
            (overdue, "overdue"),
            (open_, "open"),
            (closed, "closed"),
        ]

    def test_only_the_councils_own(self, intake, council, other_council):
        new_engagement(intake, other_council.slug)

        assert workspace.engagements_at_a_glance(intake.uow(read_only=True), council.slug, today=today()) == []


class TestChangingAndClosing:
    def test_a_change_is_saved_and_announced_whole(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        data = EngagementSchema().load(factories.engagement_payload(title="Changed", languages=["en", "cy"]))

        services.update_engagement(intake.uow(), council.slug, engagement_id, data, now=intake.clock(), source="x")

        saved = services.get_engagement(intake.uow(read_only=True), council.slug, engagement_id)
        [event] = announced(intake, ENGAGEMENTS_TOPIC, ENGAGEMENT_UPDATED)
        assert (saved.title, saved.languages) == ("Changed", ["en", "cy"])
        assert (event["data"]["title"], event["data"]["languages"]) == ("Changed", ["en", "cy"])

    def test_the_feedback_date_cannot_be_moved_into_the_past(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        past = (today() - dt.timedelta(days=1)).isoformat()
        data = EngagementSchema().load(factories.engagement_payload(feedback_due=past))

        with pytest.raises(InvalidInput) as refused:
            services.update_engagement(intake.uow(), council.slug, engagement_id, data, now=intake.clock(), source="x")

        assert refused.value.errors == {"feedback_due": ["Must not be in the past."]}

    def test_closing_twice_announces_once_and_a_closed_one_cannot_change(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        for _ in range(2):
            services.close_engagement(intake.uow(), council.slug, engagement_id, now=intake.clock(), source="x")
        data = EngagementSchema().load(factories.engagement_payload())

        with pytest.raises(InvalidInput):
            services.update_engagement(intake.uow(), council.slug, engagement_id, data, now=intake.clock(), source="x")
        assert len(announced(intake, ENGAGEMENTS_TOPIC, ENGAGEMENT_UPDATED)) == 1

    def test_another_councils_engagement_is_not_found(self, intake, council, other_council):
        theirs = new_engagement(intake, other_council.slug)

        with pytest.raises(NotFound):
            services.close_engagement(intake.uow(), council.slug, theirs, now=intake.clock(), source="x")


class TestFindingContributions:
    def test_each_filter_narrows_the_search(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        welsh, _ = record(intake, council.slug, engagement_id, participant=factories.participant_payload(language="cy"))
        complaint, _ = record(intake, council.slug, engagement_id, type="complaint")

        def found(**filters) -> set[str]:
            where = ContributionFilter(tenant=council.slug, today=today(), **filters)
            rows, total = workspace.find_contributions(intake.uow(read_only=True), where, page=1, per_page=10)
            assert total == len(rows)
            return {row.id for row in rows}

        assert found() == {welsh.id, complaint.id}
        assert found(language="cy") == {welsh.id}
        assert found(type="complaint") == {complaint.id}
        assert found(channel="letter") == set()
        assert found(overdue=True) == set()
        set_feedback_due(intake, engagement_id, dt.date(2020, 1, 1))
        assert found(overdue=True) == {welsh.id, complaint.id}

    def test_pages_hold_what_was_asked(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        for _ in range(3):
            record(intake, council.slug, engagement_id)
        where = ContributionFilter(tenant=council.slug, today=today())

        rows, total = workspace.find_contributions(intake.uow(read_only=True), where, page=2, per_page=2)

        assert (len(rows), total) == (1, 3)

    def test_another_councils_engagement_is_not_found(self, intake, council, other_council):
        theirs = new_engagement(intake, other_council.slug)
        where = ContributionFilter(tenant=council.slug, today=today(), engagement_id=theirs)

        with pytest.raises(NotFound):
            workspace.find_contributions(intake.uow(read_only=True), where, page=1, per_page=10)


class TestRecordedToday:
    def test_the_same_person_and_words_today_are_found_by_reference(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        first, payload = record(intake, council.slug, engagement_id)
        again = ContributionSchema().load({**payload, "text": "  " + payload["text"].upper() + " "})

        assert workspace.recorded_today(intake.uow(read_only=True), council.slug, again, now=intake.clock()) == [
            first.reference
        ]

    def test_other_words_another_person_or_yesterday_are_not(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        midnight = dt.datetime.combine(today(), dt.time(0), tzinfo=UK)
        _, payload = record(intake, council.slug, engagement_id, now=midnight - dt.timedelta(minutes=1))
        other_words = ContributionSchema().load({**payload, "text": "Something else entirely."})
        other_person = ContributionSchema().load({**payload, "participant": factories.participant_payload()})
        same = ContributionSchema().load(payload)

        for data in (other_words, other_person, same):
            assert workspace.recorded_today(intake.uow(read_only=True), council.slug, data, now=intake.clock()) == []


class TestTheChain:
    def test_a_new_contribution_has_its_person_and_engagement_and_nothing_yet(self, intake, council):
        engagement_id = new_engagement(intake, council.slug)
        contribution, payload = record(intake, council.slug, engagement_id)

        chain = workspace.contribution_chain(intake.uow(read_only=True), council.slug, contribution.id)

        assert chain["participant"].contact.email == payload["participant"]["email"]
        assert chain["engagement"].id == engagement_id
        assert (chain["links"], chain["messages"], chain["resource_changes"]) == ([], [], [])

    def test_another_councils_contribution_is_not_found(self, intake, council, other_council):
        contribution, _ = record(intake, other_council.slug, new_engagement(intake, other_council.slug))

        with pytest.raises(NotFound):
            workspace.contribution_chain(intake.uow(read_only=True), council.slug, contribution.id)
