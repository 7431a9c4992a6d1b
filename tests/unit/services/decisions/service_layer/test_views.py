"""Decisions' read side: the outcome chain, "you said, we did" and the overdue backlog."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.decisions.service_layer import services, views
from shared.infra.tables import utcnow
from shared.rules.constants import CONTRIBUTION_FEEDBACK_OVERDUE
from shared.rules.domain import NotFound
from tests.support import factories
from tests.support.clock import uk_today
from tests.unit.services.decisions.actions import add_change, amend, link, move, rate, record, unlink


def chain(decisions, tenant: str, contribution_id: str, today: dt.date | None = None) -> dict:
    return views.outcome_chain(decisions.uow(), tenant, contribution_id, today=today or uk_today())


def moments(count: int) -> list[dt.datetime]:
    """Strictly increasing times, all after anything intake has stamped so far."""
    start = utcnow() + dt.timedelta(minutes=1)
    return [start + dt.timedelta(hours=n) for n in range(count)]


class TestOutcomeChain:
    def test_every_step_in_time_order(self, decisions, feed, board_actor, board_id, new_contribution, council):
        contribution = new_contribution()
        t = moments(12)
        first, _, _ = record(decisions, board_actor, board_id, now=t[0], rationale="Saturdays only.")
        second, _, _ = record(decisions, board_actor, board_id, now=t[0], outcome="adopted", rationale=None)
        link(decisions, board_actor, first.id, contribution["id"], now=t[1], influence="Asked for weekends.")
        change = add_change(decisions, board_actor, first.id, now=t[2], kind="staffing")
        amend(
            decisions,
            board_actor,
            first.id,
            "The minutes were corrected.",
            now=t[3],
            rationale="Saturdays, then Sundays.",
        )
        move(decisions, board_actor, change.id, "in_progress", "Recruiting.", now=t[4])
        move(decisions, board_actor, change.id, "implemented", None, now=t[5])
        notification_id = str(uuid.uuid4())
        feed.notification(council.slug, contribution["id"], "sent", t[6], notification_id=notification_id)
        feed.notification(council.slug, contribution["id"], "delivered", t[7], notification_id=notification_id)
        link(decisions, board_actor, second.id, contribution["id"], now=t[8], influence="Also this.")
        unlink(decisions, board_actor, second.id, contribution["id"], "Linked to the wrong decision.", now=t[9])
        rate(feed, council.slug, contribution["id"], "partly", t[10])

        found = chain(decisions, council.slug, contribution["id"])

        steps = found["steps"]
        assert [step["step"] for step in steps] == [
            "received",
            "linked",
            "resource_status",
            "decision_amended",
            "resource_status",
            "resource_status",
            "message_delivered",
            "linked",
            "unlinked",
            "rated",
        ]
        assert [step["at"] for step in steps] == sorted(step["at"] for step in steps)
        assert steps[0]["reference"] == contribution["reference"]
        assert (steps[1]["decision_id"], steps[1]["influence"]) == (first.id, "Asked for weekends.")
        assert [s["status"] for s in steps if s["step"] == "resource_status"] == [
            "planned",
            "in_progress",
            "implemented",
        ]
        assert (steps[3]["version"], steps[3]["reason"]) == (2, "The minutes were corrected.")
        assert steps[6]["notification_id"] == notification_id
        assert (steps[8]["decision_id"], steps[8]["reason"]) == (second.id, "Linked to the wrong decision.")
        assert steps[9]["rating"] == "partly"
        assert steps[2]["at"] == t[2].isoformat()

    def test_the_chain_shows_each_decision_change_message_and_rating(
        self, decisions, feed, board_actor, board_id, new_contribution, council, intake_api
    ):
        contribution = new_contribution(text="Open on Saturdays, please.", on_behalf_of=4, type="recommendation")
        t = moments(6)
        decision, _, [change] = record(
            decisions,
            board_actor,
            board_id,
            now=t[0],
            links=[factories.link_payload(contribution["id"], influence="Four families asked.")],
            resource_changes=[factories.resource_change_payload(amount="1500.00", currency="GBP")],
        )
        move(decisions, board_actor, change.id, "implemented", None, now=t[1])
        notification_id = str(uuid.uuid4())
        feed.notification(council.slug, contribution["id"], "delivered", t[2], notification_id=notification_id)
        rate(feed, council.slug, contribution["id"], "yes", t[3])

        found = chain(decisions, council.slug, contribution["id"])

        assert found["contribution"]["id"] == contribution["id"]
        assert found["contribution"]["reference"] == contribution["reference"]
        assert found["contribution"]["text"] == "Open on Saturdays, please."
        assert found["contribution"]["on_behalf_of"] == 4
        assert found["contribution"]["type"] == "recommendation"
        assert found["contribution"]["engagement_title"] is not None
        [shown] = found["decisions"]
        assert shown["id"] == decision.id
        assert shown["outcome"] == "partly_adopted"
        assert shown["rationale"] == decision.rationale
        assert shown["influence"] == "Four families asked."
        assert shown["link_state"] == "confirmed"
        [shown_change] = found["resource_changes"]
        assert (shown_change["amount"], shown_change["currency"], shown_change["status"]) == (
            "1500.00",
            "GBP",
            "implemented",
        )
        assert [h["status"] for h in shown_change["history"]] == ["planned", "implemented"]
        assert shown_change["progress_percent"] == 100
        [message] = found["messages"]
        assert (message["notification_id"], message["status"], message["status_at"]) == (
            notification_id,
            "delivered",
            t[2].isoformat(),
        )
        assert found["rating"] == {"rating": "yes", "rated_at": t[3].isoformat(), "channel": None, "comment": None}
        assert found["status"] == "closed"

    def test_status_moves_from_received_to_decided_to_implemented(
        self, decisions, board_actor, board_id, new_contribution, council
    ):
        contribution = new_contribution()
        assert chain(decisions, council.slug, contribution["id"])["status"] == "received"

        decision, _, [change] = record(
            decisions,
            board_actor,
            board_id,
            links=[factories.link_payload(contribution["id"])],
            resource_changes=[factories.resource_change_payload()],
        )
        assert chain(decisions, council.slug, contribution["id"])["status"] == "decided"

        move(decisions, board_actor, change.id, "in_progress", "Recruiting.")
        assert chain(decisions, council.slug, contribution["id"])["status"] == "decided"

        move(decisions, board_actor, change.id, "implemented", None)
        assert chain(decisions, council.slug, contribution["id"])["status"] == "implemented"

        move(decisions, board_actor, change.id, "in_progress", "One of the two posts is vacant again.")
        assert chain(decisions, council.slug, contribution["id"])["status"] == "decided"

    def test_a_deferred_decision_is_under_consideration_until_the_date_passes(
        self, decisions, board_actor, board_id, new_contribution, council, engagement
    ):
        contribution = new_contribution()
        record(
            decisions,
            board_actor,
            board_id,
            outcome="deferred",
            rationale="Waiting for the staffing review.",
            revisit_on=(uk_today() + dt.timedelta(days=90)).isoformat(),
            links=[factories.link_payload(contribution["id"])],
        )
        due = dt.date.fromisoformat(engagement["feedback_due"])

        assert chain(decisions, council.slug, contribution["id"], today=due)["status"] == "under_consideration"
        assert (
            chain(decisions, council.slug, contribution["id"], today=due + dt.timedelta(days=1))["status"] == "overdue"
        )

    def test_undecided_after_the_feedback_date_is_overdue(self, decisions, new_contribution, council, engagement):
        contribution = new_contribution()
        due = dt.date.fromisoformat(engagement["feedback_due"])

        assert chain(decisions, council.slug, contribution["id"], today=due)["status"] == "received"
        assert (
            chain(decisions, council.slug, contribution["id"], today=due + dt.timedelta(days=1))["status"] == "overdue"
        )

    def test_unlinking_takes_the_decision_out_of_the_status(
        self, decisions, board_actor, board_id, new_contribution, council
    ):
        contribution = new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id, links=[factories.link_payload(contribution["id"])])

        unlink(decisions, board_actor, decision.id, contribution["id"], "Wrong contribution.")

        found = chain(decisions, council.slug, contribution["id"])
        assert found["status"] == "received"
        [shown] = found["decisions"]
        assert shown["unlink_reason"] == "Wrong contribution."
        assert shown["unlinked_at"] is not None

    def test_an_acknowledgement_delivered_before_any_decision_does_not_close_the_loop(
        self, decisions, feed, board_actor, board_id, new_contribution, council
    ):
        contribution = new_contribution()
        t = moments(3)
        feed.notification(
            council.slug,
            contribution["id"],
            "delivered",
            t[0],
            notification_id=str(uuid.uuid4()),
            kind="acknowledgement",
        )

        record(
            decisions,
            board_actor,
            board_id,
            now=t[1],
            outcome="not_adopted",
            rationale="The building is closing.",
            links=[factories.link_payload(contribution["id"])],
        )

        # The participant has been told their contribution arrived, not what was decided.
        assert chain(decisions, council.slug, contribution["id"])["status"] == "decided"

    def test_an_update_handed_to_the_mail_server_closes_the_loop_until_it_is_reported_failed(
        self, decisions, feed, board_actor, board_id, new_contribution, council
    ):
        # SMTP never reports delivery: a sent email is the most a council can know.
        contribution = new_contribution()
        t = moments(3)
        record(decisions, board_actor, board_id, now=t[0], links=[factories.link_payload(contribution["id"])])
        notification_id = str(uuid.uuid4())

        feed.notification(council.slug, contribution["id"], "sent", t[1], notification_id=notification_id)
        assert chain(decisions, council.slug, contribution["id"])["status"] == "closed"

        feed.notification(council.slug, contribution["id"], "failed", t[2], notification_id=notification_id)
        assert chain(decisions, council.slug, contribution["id"])["status"] == "decided"

    def test_another_tenants_contribution_is_not_found_like_an_unknown_one(
        self, decisions, new_contribution, other_council
    ):
        contribution = new_contribution()

        with pytest.raises(NotFound) as foreign:
            chain(decisions, other_council.slug, contribution["id"])
        with pytest.raises(NotFound) as unknown:
            chain(decisions, other_council.slug, str(uuid.uuid4()))

        assert foreign.value.what == unknown.value.what == "contribution"


class TestYouSaidWeDid:
    @pytest.fixture
    def engagement_story(
        self, decisions, feed, board_actor, board_id, new_contribution, council, known_engagement, intake_api
    ):
        """Four contributions to the engagement, three decisions about them, and one elsewhere."""
        e = known_engagement["id"]
        view = new_contribution(e, type="view")
        group = new_contribution(e, type="recommendation", on_behalf_of=12)
        complaint = new_contribution(e, type="complaint")
        undecided = new_contribution(e, type="view", on_behalf_of=3)
        elsewhere = intake_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        other = new_contribution(elsewhere["id"], type="question")

        adopted, _, [change] = record(
            decisions,
            board_actor,
            board_id,
            outcome="adopted",
            rationale=None,
            title='=HYPERLINK("http://evil.example","Saturday opening")',
            links=[factories.link_payload(view["id"]), factories.link_payload(group["id"])],
            resource_changes=[factories.resource_change_payload(description="-2 staff on Sundays", amount="5000.00")],
        )
        deferred, _, _ = record(
            decisions,
            board_actor,
            board_id,
            outcome="deferred",
            rationale="+ more evidence needed",
            revisit_on=(uk_today() + dt.timedelta(days=120)).isoformat(),
            links=[factories.link_payload(complaint["id"])],
        )
        recorded_against, _, _ = record(
            decisions, board_actor, board_id, outcome="not_adopted", rationale="@the budget is fixed", engagement_id=e
        )
        record(decisions, board_actor, board_id, links=[factories.link_payload(other["id"])])
        move(decisions, board_actor, change.id, "implemented", None)
        feed.notification(council.slug, view["id"], "delivered", moments(1)[0], notification_id=str(uuid.uuid4()))
        rate(feed, council.slug, view["id"], "yes", moments(1)[0])
        return {
            "engagement": known_engagement,
            "decisions": {"adopted": adopted, "deferred": deferred, "recorded_against": recorded_against},
            "change": change,
            "undecided": undecided,
        }

    def test_counts_what_people_said(self, decisions, council, engagement_story):
        report = views.you_said_we_did(decisions.uow(), council.slug, engagement_story["engagement"]["id"])

        assert report["you_said"] == {
            "contributions": 4,
            "people_represented": 1 + 12 + 1 + 3,
            "by_type": {"view": 2, "recommendation": 1, "complaint": 1, "compliment": 0, "question": 0},
        }

    def test_shows_what_was_asked(self, decisions, council, engagement_story):
        engagement = engagement_story["engagement"]

        report = views.you_said_we_did(decisions.uow(), council.slug, engagement["id"])

        assert report["engagement"]["title"] == engagement["title"]
        assert report["engagement"]["can_change"] == engagement["can_change"]
        assert report["engagement"]["cannot_change"] == engagement["cannot_change"]
        assert report["engagement"]["feedback_due"] == engagement["feedback_due"]

    def test_lists_what_was_done(self, decisions, council, engagement_story):
        report = views.you_said_we_did(decisions.uow(), council.slug, engagement_story["engagement"]["id"])

        by_id = {item["decision_id"]: item for item in report["we_did"]}
        made = engagement_story["decisions"]
        assert set(by_id) == {made["adopted"].id, made["deferred"].id, made["recorded_against"].id}
        assert by_id[made["adopted"].id]["contributions_linked"] == 2
        assert by_id[made["deferred"].id]["contributions_linked"] == 1
        assert by_id[made["recorded_against"].id]["contributions_linked"] == 0
        [change] = by_id[made["adopted"].id]["resource_changes"]
        assert (change["id"], change["status"], change["amount"]) == (
            engagement_story["change"].id,
            "implemented",
            "5000.00",
        )

    def test_shares_closing_the_loop(self, decisions, council, engagement_story):
        report = views.you_said_we_did(decisions.uow(), council.slug, engagement_story["engagement"]["id"])

        assert report["closing_the_loop"] == {
            "share_with_decision": 0.5,  # two of four: deferred is not a decision
            "share_with_feedback_delivered": 0.25,
            "ratings": {"yes": 1, "partly": 0, "no": 0},
        }

    def test_an_engagement_nobody_answered_has_no_shares(self, decisions, council, known_engagement):
        report = views.you_said_we_did(decisions.uow(), council.slug, known_engagement["id"])

        assert report["you_said"]["contributions"] == 0
        assert report["closing_the_loop"]["share_with_decision"] is None
        assert report["we_did"] == []

    def test_csv_has_one_row_per_decision_and_per_resource_change(self, decisions, council, engagement_story):
        report = views.you_said_we_did(decisions.uow(), council.slug, engagement_story["engagement"]["id"])

        rows = views.you_said_we_did_rows(report)

        assert [row["item"] for row in rows].count("decision") == 3
        assert [row["item"] for row in rows].count("resource_change:staffing") == 1
        assert len(rows) == 4
        assert all(set(row) == set(views.CSV_COLUMNS) for row in rows)

    def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(self, decisions, council, engagement_story):
        report = views.you_said_we_did(decisions.uow(), council.slug, engagement_story["engagement"]["id"])

        cells = [cell for row in views.you_said_we_did_rows(report) for cell in row.values()]

        assert '\'=HYPERLINK("http://evil.example","Saturday opening")' in cells
        assert "'-2 staff on Sundays" in cells
        assert "'+ more evidence needed" in cells
        assert "'@the budget is fixed" in cells
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]

    def test_another_tenants_engagement_is_not_found_like_an_unknown_one(
        self, decisions, known_engagement, other_council
    ):
        with pytest.raises(NotFound) as foreign:
            views.you_said_we_did(decisions.uow(), other_council.slug, known_engagement["id"])
        with pytest.raises(NotFound) as unknown:
            views.you_said_we_did(decisions.uow(), other_council.slug, str(uuid.uuid4()))

        assert foreign.value.what == unknown.value.what == "engagement"


class TestOverdue:
    @pytest.fixture
    def due_soon(self, intake_api, feed) -> dict:
        response = intake_api.post(
            "/v1/engagements",
            json=factories.engagement_payload(feedback_due=(uk_today() + dt.timedelta(days=1)).isoformat()),
        )
        assert response.status_code == 201, response.get_json()
        feed.deliver()
        return response.get_json()

    @pytest.fixture
    def backlog(self, decisions, board_actor, board_id, new_contribution, due_soon) -> dict:
        """Four contributions to an engagement due tomorrow: undecided, decided, only deferred, unlinked."""
        undecided = new_contribution(due_soon["id"])
        decided = new_contribution(due_soon["id"])
        deferred = new_contribution(due_soon["id"])
        unlinked = new_contribution(due_soon["id"])
        record(decisions, board_actor, board_id, links=[factories.link_payload(decided["id"])])
        record(
            decisions,
            board_actor,
            board_id,
            outcome="deferred",
            revisit_on=(uk_today() + dt.timedelta(days=60)).isoformat(),
            links=[factories.link_payload(deferred["id"])],
        )
        later, _, _ = record(decisions, board_actor, board_id, links=[factories.link_payload(unlinked["id"])])
        unlink(decisions, board_actor, later.id, unlinked["id"], "It was about something else.")
        return {"undecided": undecided, "decided": decided, "deferred": deferred, "unlinked": unlinked}

    def announce(self, decisions, today: dt.date) -> int:
        return services.announce_overdue(decisions.uow(), today=today, now=utcnow(), source=decisions.source)

    def test_nothing_is_overdue_on_the_day_itself(self, decisions, backlog, due_soon, announced):
        assert self.announce(decisions, dt.date.fromisoformat(due_soon["feedback_due"])) == 0
        assert announced(CONTRIBUTION_FEEDBACK_OVERDUE) == []

    def test_each_undecided_contribution_is_announced_once_the_date_passes(
        self, decisions, backlog, due_soon, announced, council
    ):
        day_after = dt.date.fromisoformat(due_soon["feedback_due"]) + dt.timedelta(days=1)

        count = self.announce(decisions, day_after)

        overdue = announced(CONTRIBUTION_FEEDBACK_OVERDUE)
        expected = {backlog[name]["id"] for name in ("undecided", "deferred", "unlinked")}
        assert count == 3
        assert {key for key, _ in overdue} == expected
        for key, event in overdue:
            contribution = next(c for c in backlog.values() if c["id"] == key)
            assert event["tenant"] == council.slug
            assert event["data"]["contribution_id"] == key
            assert event["data"]["participant_id"] == contribution["participant_id"]
            assert event["data"]["reference"] == contribution["reference"]
            assert event["data"]["feedback_due"] == due_soon["feedback_due"]
            assert event["data"]["engagement_title"] == due_soon["title"]

    def test_never_twice(self, decisions, backlog, due_soon, announced):
        day_after = dt.date.fromisoformat(due_soon["feedback_due"]) + dt.timedelta(days=1)
        self.announce(decisions, day_after)

        again = self.announce(decisions, day_after)
        week_later = self.announce(decisions, day_after + dt.timedelta(days=7))

        assert (again, week_later) == (0, 0)
        assert len(announced(CONTRIBUTION_FEEDBACK_OVERDUE)) == 3

    def test_a_contribution_arriving_late_is_announced_on_the_next_check(
        self, decisions, backlog, due_soon, new_contribution, announced
    ):
        day_after = dt.date.fromisoformat(due_soon["feedback_due"]) + dt.timedelta(days=1)
        self.announce(decisions, day_after)
        straggler = new_contribution(due_soon["id"])

        assert self.announce(decisions, day_after) == 1
        assert announced(CONTRIBUTION_FEEDBACK_OVERDUE)[-1][0] == straggler["id"]

    def test_another_tenants_pending_link_does_not_count_as_a_decision(
        self, decisions, feed, intake_api, other_council, board_actor, board_id, announced
    ):
        """A board links an id decisions has not seen; it turns out to be another council's contribution."""
        theirs_api = intake_api.as_(tenant=other_council)
        due = uk_today() + dt.timedelta(days=1)
        their_engagement = theirs_api.post(
            "/v1/engagements", json=factories.engagement_payload(feedback_due=due.isoformat())
        ).get_json()
        theirs = theirs_api.post(
            "/v1/contributions", json=factories.contribution_payload(their_engagement["id"])
        ).get_json()
        record(decisions, board_actor, board_id, links=[factories.link_payload(theirs["id"])])
        feed.deliver()

        count = self.announce(decisions, due + dt.timedelta(days=1))

        assert count == 1
        [(key, event)] = announced(CONTRIBUTION_FEEDBACK_OVERDUE)
        assert (key, event["tenant"]) == (theirs["id"], other_council.slug)

    def test_staff_see_the_backlog_and_who_has_been_told(
        self, decisions, backlog, due_soon, decisions_api_at, other_council
    ):
        due = dt.date.fromisoformat(due_soon["feedback_due"])
        two_days_after = dt.datetime.combine(due + dt.timedelta(days=2), dt.time(12, 0), tzinfo=dt.UTC)
        api = decisions_api_at(two_days_after)

        before = api.get("/v1/overdue")
        self.announce(decisions, due + dt.timedelta(days=1))
        after = api.get("/v1/overdue")

        assert before.status_code == 200, before.get_json()
        expected = {backlog[name]["id"] for name in ("undecided", "deferred", "unlinked")}
        assert before.get_json()["total"] == 3
        assert {item["contribution_id"] for item in before.get_json()["items"]} == expected
        assert {item["days_overdue"] for item in before.get_json()["items"]} == {2}
        assert {item["participant_told"] for item in before.get_json()["items"]} == {False}
        assert {item["participant_told"] for item in after.get_json()["items"]} == {True}
        assert api.as_(role="staff").get("/v1/overdue").get_json()["total"] == 3
        assert api.as_(tenant=other_council).get("/v1/overdue").get_json() == {"items": [], "total": 0}

    def test_the_backlog_is_empty_before_the_date(self, decisions, backlog, decisions_api_at, due_soon):
        due = dt.date.fromisoformat(due_soon["feedback_due"])
        api = decisions_api_at(dt.datetime.combine(due, dt.time(12, 0), tzinfo=dt.UTC))

        assert api.get("/v1/overdue").get_json() == {"items": [], "total": 0}
