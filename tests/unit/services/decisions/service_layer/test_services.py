"""Decisions' use cases on a real SQLite unit of work, with contributions learned from intake's events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from services.decisions.adapters.tables import decisions as decisions_table
from services.decisions.adapters.tables import links as links_table
from services.decisions.service_layer import services
from shared.infra.tables import outbox, utcnow
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    DECISIONS_TOPIC,
    RESOURCE_CHANGED,
)
from shared.rules.domain import InvalidInput, NotFound
from tests.support import factories
from tests.unit.services.decisions.actions import add_change, amend, link, move, record, stored, unlink


@pytest.fixture
def other_actor(other_council) -> services.Actor:
    return services.Actor(tenant=other_council.slug, key_id=other_council.key_ids["board"])


class TestRecordingDecisions:
    def test_a_decision_is_announced_keyed_by_its_id(self, decisions, board_actor, board_id, announced):
        decision, new_links, changes = record(decisions, board_actor, board_id, outcome="not_adopted", rationale="No.")

        [(key, event)] = announced(DECISION_RECORDED)
        assert key == decision.id
        assert event["tenant"] == board_actor.tenant
        assert event["subject"] == decision.id
        assert event["data"]["decision_id"] == decision.id
        assert event["data"]["outcome"] == "not_adopted"
        assert event["data"]["rationale"] == "No."
        assert event["data"]["version"] == 1
        assert (new_links, changes) == ([], [])

    def test_a_refused_decision_leaves_nothing_behind(self, decisions, board_actor, board_id, announced):
        with pytest.raises(InvalidInput) as caught:
            record(decisions, board_actor, board_id, outcome="not_adopted", rationale=None)

        assert set(caught.value.errors) == {"rationale"}
        assert stored(decisions, decisions_table) == []
        assert announced() == []

    def test_an_unknown_board_is_refused(self, decisions, board_actor):
        with pytest.raises(InvalidInput) as caught:
            record(decisions, board_actor, str(uuid.uuid4()))

        assert set(caught.value.errors) == {"board_id"}

    def test_another_tenants_board_is_refused_like_an_unknown_one(self, decisions, other_actor, board_id):
        with pytest.raises(InvalidInput) as foreign:
            record(decisions, other_actor, board_id)
        with pytest.raises(InvalidInput) as unknown:
            record(decisions, other_actor, str(uuid.uuid4()))

        assert foreign.value.errors == unknown.value.errors

    def test_out_of_scope_is_checked_against_the_engagements_cannot_change(
        self, decisions, board_actor, board_id, known_engagement
    ):
        refused = {
            "engagement_id": known_engagement["id"],
            "outcome": "out_of_scope",
            "scope_limit_kind": "cannot_change",
            "scope_limit": "opening hours",  # a can_change item
        }
        with pytest.raises(InvalidInput) as caught:
            record(decisions, board_actor, board_id, **refused)

        accepted, _, _ = record(decisions, board_actor, board_id, **{**refused, "scope_limit": "the total budget"})

        assert set(caught.value.errors) == {"scope_limit"}
        assert accepted.scope_limit == "the total budget"

    def test_out_of_scope_against_an_engagement_not_yet_known_is_accepted(self, decisions, board_actor, board_id):
        decision, _, _ = record(
            decisions,
            board_actor,
            board_id,
            engagement_id=str(uuid.uuid4()),
            outcome="out_of_scope",
            scope_limit_kind="cannot_change",
            scope_limit="the total budget",
        )

        assert decision.outcome == "out_of_scope"

    def test_another_tenants_engagement_is_refused(
        self, decisions, other_actor, other_council, known_engagement, council
    ):
        other_board = services.create_board(
            decisions.uow(), other_council.slug, factories.board_payload(), now=utcnow()
        )

        with pytest.raises(InvalidInput) as caught:
            record(decisions, other_actor, other_board.id, engagement_id=known_engagement["id"])

        assert set(caught.value.errors) == {"engagement_id"}


class TestLinking:
    def test_a_link_to_a_contribution_not_yet_seen_is_pending_and_not_announced(
        self, decisions, board_actor, board_id, announced
    ):
        decision, _, _ = record(decisions, board_actor, board_id)
        unseen = str(uuid.uuid4())

        [pending] = link(decisions, board_actor, decision.id, unseen)

        assert pending.state == "pending"
        assert pending.confirmed_at is None
        assert announced(CONTRIBUTION_LINKED) == []

    def test_a_link_to_a_known_contribution_is_confirmed_and_announced_keyed_by_the_contribution(
        self, decisions, board_actor, board_id, new_contribution, announced
    ):
        contribution = new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id, outcome="adopted", rationale="Everyone agreed.")
        change = add_change(decisions, board_actor, decision.id, kind="service", description="Saturday opening")

        [confirmed] = link(decisions, board_actor, decision.id, contribution["id"], influence="Asked for Saturdays.")

        assert confirmed.state == "confirmed"
        [(key, event)] = announced(CONTRIBUTION_LINKED)
        assert key == contribution["id"]
        assert event["subject"] == contribution["id"]
        data = event["data"]
        assert data["contribution_id"] == contribution["id"]
        assert data["participant_id"] == contribution["participant_id"]
        assert data["reference"] == contribution["reference"]
        assert "influence" not in data  # sealed on the topic: it may identify the person
        assert decisions.sealer.open(data["sealed_influence"]) == "Asked for Saturdays."
        assert (data["decision_id"], data["outcome"], data["rationale"]) == (decision.id, "adopted", "Everyone agreed.")
        assert data["resource_changes"] == [
            {"resource_change_id": change.id, "kind": "service", "description": "Saturday opening", "status": "planned"}
        ]

    def test_a_pending_link_is_confirmed_and_announced_when_the_contribution_arrives(
        self, decisions, board_actor, board_id, new_contribution, feed, announced
    ):
        contribution = new_contribution(deliver=False)  # in intake's outbox, not yet at decisions
        decision, _, _ = record(decisions, board_actor, board_id, outcome="not_adopted", rationale="No money.")
        change = add_change(decisions, board_actor, decision.id)
        [pending] = link(decisions, board_actor, decision.id, contribution["id"], influence="Costed the idea.")
        assert pending.state == "pending"
        assert announced(CONTRIBUTION_LINKED) == []

        feed.deliver()

        [(key, event)] = announced(CONTRIBUTION_LINKED)
        assert key == contribution["id"]
        data = event["data"]
        assert data["link_id"] == pending.id
        assert data["participant_id"] == contribution["participant_id"]
        assert decisions.sealer.open(data["sealed_influence"]) == "Costed the idea."
        assert (data["outcome"], data["rationale"]) == ("not_adopted", "No money.")
        assert [c["resource_change_id"] for c in data["resource_changes"]] == [change.id]
        [row] = stored(decisions, links_table)
        assert row.state == "confirmed"
        assert row.confirmed_at is not None

    def test_the_contribution_arriving_again_announces_nothing_more(
        self, decisions, board_actor, board_id, new_contribution, feed, announced
    ):
        contribution = new_contribution(deliver=False)
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])
        delivered = feed.deliver()

        decisions.processor.process(delivered)

        assert len(announced(CONTRIBUTION_LINKED)) == 1

    def test_a_decision_recorded_with_links_and_changes_tells_each_contribution_of_the_changes(
        self, decisions, board_actor, board_id, new_contribution, announced
    ):
        contribution = new_contribution()

        decision, _, [change] = record(
            decisions,
            board_actor,
            board_id,
            links=[factories.link_payload(contribution["id"])],
            resource_changes=[factories.resource_change_payload(kind="budget", description="Saturday staffing")],
        )

        [(key, event)] = announced(CONTRIBUTION_LINKED)
        assert key == contribution["id"]
        assert event["data"]["resource_changes"] == [
            {"resource_change_id": change.id, "kind": "budget", "description": "Saturday staffing", "status": "planned"}
        ]

    def test_a_pending_link_is_not_confirmed_by_another_tenants_contribution(
        self, decisions, board_actor, board_id, intake_api, other_council, feed, announced
    ):
        theirs_api = intake_api.as_(tenant=other_council)
        their_engagement = theirs_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        theirs = theirs_api.post(
            "/v1/contributions", json=factories.contribution_payload(their_engagement["id"])
        ).get_json()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, theirs["id"])  # not yet known to decisions

        feed.deliver()

        [row] = stored(decisions, links_table)
        assert row.state == "pending"
        assert announced(CONTRIBUTION_LINKED) == []

    def test_another_tenants_contribution_is_only_ever_a_pending_link_like_an_unknown_id(
        self, decisions, board_actor, board_id, intake_api, other_council, feed, announced
    ):
        theirs_api = intake_api.as_(tenant=other_council)
        their_engagement = theirs_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        theirs = theirs_api.post(
            "/v1/contributions", json=factories.contribution_payload(their_engagement["id"])
        ).get_json()
        feed.deliver()
        decision, _, _ = record(decisions, board_actor, board_id)

        link(decisions, board_actor, decision.id, str(uuid.uuid4()), theirs["id"])
        feed.delivered_up_to = 0
        feed.deliver()  # their contribution's event again: it confirms only their own council's links

        rows = stored(decisions, links_table)
        assert {(row.state, row.tenant) for row in rows} == {("pending", board_actor.tenant)}
        assert theirs["id"] in {row.contribution_id for row in rows}
        assert announced(CONTRIBUTION_LINKED) == []

    def test_a_contribution_listed_twice_is_refused_naming_the_second(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)
        twice = str(uuid.uuid4())

        with pytest.raises(InvalidInput) as caught:
            link(decisions, board_actor, decision.id, str(uuid.uuid4()), twice, twice)

        assert set(caught.value.errors) == {"links[2].contribution_id"}

    def test_a_contribution_already_linked_is_refused(self, decisions, board_actor, board_id, new_contribution):
        contribution = new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])

        with pytest.raises(InvalidInput):
            link(decisions, board_actor, decision.id, contribution["id"])

        assert len(stored(decisions, links_table)) == 1

    def test_one_contribution_may_shape_several_decisions(
        self, decisions, board_actor, board_id, new_contribution, announced
    ):
        contribution = new_contribution()
        first, _, _ = record(decisions, board_actor, board_id)
        second, _, _ = record(decisions, board_actor, board_id, outcome="adopted", rationale=None)

        link(decisions, board_actor, first.id, contribution["id"])
        link(decisions, board_actor, second.id, contribution["id"])

        linked = announced(CONTRIBUTION_LINKED)
        assert [key for key, _ in linked] == [contribution["id"], contribution["id"]]
        assert [event["data"]["decision_id"] for _, event in linked] == [first.id, second.id]

    def test_thousands_of_links_in_one_call(self, decisions, board_actor, board_id, new_contribution, announced):
        known = [new_contribution()["id"] for _ in range(3)]
        unseen = [str(uuid.uuid4()) for _ in range(3_000)]
        decision, _, _ = record(decisions, board_actor, board_id)

        created = link(decisions, board_actor, decision.id, *known, *unseen)

        assert len(created) == 3_003
        assert sum(1 for new in created if new.state == "confirmed") == 3
        assert sorted(key for key, _ in announced(CONTRIBUTION_LINKED)) == sorted(known)


class TestUnlinking:
    def test_unlinking_is_announced_with_the_reason(
        self, decisions, board_actor, board_id, new_contribution, announced
    ):
        contribution = new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])

        unlinked = unlink(decisions, board_actor, decision.id, contribution["id"], "Linked by mistake.")

        assert unlinked.unlink_reason == "Linked by mistake."
        [(key, event)] = announced(CONTRIBUTION_UNLINKED)
        assert key == contribution["id"]
        assert decisions.sealer.open(event["data"]["sealed_reason"]) == "Linked by mistake."
        assert event["data"]["participant_id"] == contribution["participant_id"]
        assert event["data"]["decision_id"] == decision.id

    def test_unlinking_a_pending_link_tells_no_one(self, decisions, board_actor, board_id, announced):
        decision, _, _ = record(decisions, board_actor, board_id)
        unseen = str(uuid.uuid4())
        link(decisions, board_actor, decision.id, unseen)

        unlink(decisions, board_actor, decision.id, unseen, "Wrong id.")

        assert announced(CONTRIBUTION_UNLINKED) == []

    def test_an_unlinked_contribution_may_be_linked_again(self, decisions, board_actor, board_id, new_contribution):
        contribution = new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])
        unlink(decisions, board_actor, decision.id, contribution["id"], "Too soon.")

        [again] = link(decisions, board_actor, decision.id, contribution["id"])

        assert again.state == "confirmed"
        assert len(stored(decisions, links_table)) == 2

    def test_a_link_that_is_not_there_is_not_found(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)

        with pytest.raises(NotFound):
            unlink(decisions, board_actor, decision.id, str(uuid.uuid4()), "Why not.")


class TestUnresolvedLinks:
    def test_old_pending_links_are_flagged_and_a_late_contribution_still_confirms_them(
        self, decisions, board_actor, board_id, new_contribution, feed, announced
    ):
        contribution = new_contribution(deliver=False)
        linked_at = utcnow()
        decision, _, _ = record(decisions, board_actor, board_id, now=linked_at)
        link(decisions, board_actor, decision.id, contribution["id"], now=linked_at)
        fresh = str(uuid.uuid4())
        link(decisions, board_actor, decision.id, fresh, now=linked_at + dt.timedelta(minutes=50))

        flagged = services.resolve_links(
            decisions.uow(), older_than=dt.timedelta(hours=1), now=linked_at + dt.timedelta(minutes=61), source="test"
        )

        states = {row.contribution_id: row.state for row in stored(decisions, links_table)}
        assert flagged == 1
        assert states == {contribution["id"]: "unresolved", fresh: "pending"}
        assert announced(CONTRIBUTION_LINKED) == []

        feed.deliver()

        states = {row.contribution_id: row.state for row in stored(decisions, links_table)}
        assert states[contribution["id"]] == "confirmed"
        assert [key for key, _ in announced(CONTRIBUTION_LINKED)] == [contribution["id"]]

    def test_flagging_again_finds_nothing_new(self, decisions, board_actor, board_id):
        linked_at = utcnow()
        decision, _, _ = record(decisions, board_actor, board_id, now=linked_at)
        link(decisions, board_actor, decision.id, str(uuid.uuid4()), now=linked_at)
        later = linked_at + dt.timedelta(hours=2)

        first = services.resolve_links(decisions.uow(), older_than=dt.timedelta(hours=1), now=later, source="test")
        second = services.resolve_links(decisions.uow(), older_than=dt.timedelta(hours=1), now=later, source="test")

        assert (first, second) == (1, 0)

    def test_a_link_that_crossed_its_contributions_event_is_confirmed_by_the_check(
        self, decisions, board_actor, board_id, new_contribution, announced
    ):
        """On PostgreSQL a link can be saved as pending while the contribution's event is
        being applied, so it misses the confirmation: the scheduled check catches it."""
        contribution = new_contribution()  # known to the read model
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])
        with decisions.engine.begin() as connection:  # as if saved before the event committed
            connection.execute(links_table.update().values(state="pending", confirmed_at=None))
        announced_before = len(announced(CONTRIBUTION_LINKED))

        resolved = services.resolve_links(
            decisions.uow(), older_than=dt.timedelta(hours=1), now=utcnow(), source="test"
        )

        assert resolved == 1
        assert {row.state for row in stored(decisions, links_table)} == {"confirmed"}
        assert len(announced(CONTRIBUTION_LINKED)) == announced_before + 1


class TestAnnouncedToEachContribution:
    @pytest.fixture
    def linked(self, decisions, board_actor, board_id, new_contribution):
        """A decision linked to two known contributions and one not yet seen."""
        first, second = new_contribution(), new_contribution()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, first["id"], second["id"], str(uuid.uuid4()))
        return decision, [first, second]

    def test_an_amendment_is_announced_once_per_confirmed_contribution(self, decisions, board_actor, linked, announced):
        decision, contributions = linked

        amend(decisions, board_actor, decision.id, "The minutes said Sundays too.", rationale="Both weekend days.")

        amended = announced(DECISION_AMENDED)
        assert sorted(key for key, _ in amended) == sorted(c["id"] for c in contributions)
        for key, event in amended:
            assert event["subject"] == key
            assert event["data"]["contribution_id"] == key
            assert event["data"]["participant_id"] == next(c["participant_id"] for c in contributions if c["id"] == key)
            assert decisions.sealer.open(event["data"]["sealed_reason"]) == "The minutes said Sundays too."
            assert event["data"]["version"] == 2
            assert event["data"]["changes"]["rationale"][1] == "Both weekend days."

    def test_an_amendment_with_nothing_linked_is_announced_once_keyed_by_the_decision(
        self, decisions, board_actor, board_id, announced
    ):
        decision, _, _ = record(decisions, board_actor, board_id, title="Saturdays")

        amend(decisions, board_actor, decision.id, title="Saturdays and Sundays")

        [(key, event)] = announced(DECISION_AMENDED)
        assert key == decision.id
        assert event["data"]["contribution_id"] is None
        assert event["data"]["changes"] == {"title": ["Saturdays", "Saturdays and Sundays"]}

    def test_a_resource_change_is_announced_once_per_confirmed_contribution(
        self, decisions, board_actor, linked, announced
    ):
        decision, contributions = linked

        change = add_change(decisions, board_actor, decision.id)
        move(decisions, board_actor, change.id, "in_progress", "Recruiting.")

        changed = announced(RESOURCE_CHANGED)
        ids = sorted(c["id"] for c in contributions)
        assert sorted(key for key, _ in changed[:2]) == ids
        assert sorted(key for key, _ in changed[2:]) == ids
        assert {e["data"]["status"] for _, e in changed[:2]} == {"planned"}
        assert {
            (e["data"]["previous_status"], e["data"]["status"], decisions.sealer.open(e["data"]["sealed_note"]))
            for _, e in changed[2:]
        } == {("planned", "in_progress", "Recruiting.")}
        assert all(e["data"]["resource_change_id"] == change.id for _, e in changed)

    def test_a_resource_change_with_nothing_linked_is_announced_keyed_by_the_decision(
        self, decisions, board_actor, board_id, announced
    ):
        decision, _, _ = record(decisions, board_actor, board_id)

        change = add_change(decisions, board_actor, decision.id, amount="1200.50", currency="EUR")

        [(key, event)] = announced(RESOURCE_CHANGED)
        assert key == decision.id
        assert (event["data"]["amount"], event["data"]["currency"]) == ("1200.50", "EUR")
        assert event["data"]["resource_change_id"] == change.id

    def test_a_progress_update_is_announced(self, decisions, board_actor, board_id, announced):
        decision, _, _ = record(decisions, board_actor, board_id)
        change = add_change(decisions, board_actor, decision.id)
        move(decisions, board_actor, change.id, "in_progress")

        move(decisions, board_actor, change.id, None, progress_percent=60)

        last = announced(RESOURCE_CHANGED)[-1][1]["data"]
        assert (last["status"], last["previous_status"], last["progress_percent"]) == ("in_progress", "in_progress", 60)

    def test_every_event_goes_to_the_decisions_topic(self, decisions, board_actor, linked):

        with decisions.engine.connect() as connection:
            topics = set(connection.execute(sa.select(outbox.c.topic)).scalars())

        assert topics == {DECISIONS_TOPIC}


class TestAmendments:
    def test_every_version_is_kept_with_its_reason(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id, title="Saturdays")
        amend(decisions, board_actor, decision.id, "Typo.", title="Saturday opening")
        amend(decisions, board_actor, decision.id, "Board revisited.", outcome="adopted")

        current, _, _, versions = services.get_decision(decisions.uow(), board_actor.tenant, decision.id)

        assert current.version == 3
        assert [(v["version"], v["reason"], v["snapshot"]["title"]) for v in versions] == [
            (1, None, "Saturdays"),
            (2, "Typo.", "Saturday opening"),
            (3, "Board revisited.", "Saturday opening"),
        ]
        assert versions[2]["snapshot"]["outcome"] == "adopted"

    def test_an_amendment_that_breaks_a_rule_is_refused_and_nothing_changes(
        self, decisions, board_actor, board_id, announced
    ):
        decision, _, _ = record(decisions, board_actor, board_id)

        with pytest.raises(InvalidInput) as caught:
            amend(decisions, board_actor, decision.id, outcome="deferred")

        assert set(caught.value.errors) == {"revisit_on"}
        current, _, _, versions = services.get_decision(decisions.uow(), board_actor.tenant, decision.id)
        assert (current.outcome, current.version, len(versions)) == ("partly_adopted", 1, 1)
        assert announced(DECISION_AMENDED) == []

    def test_another_tenants_decision_cannot_be_amended(self, decisions, board_actor, other_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)

        with pytest.raises(NotFound):
            amend(decisions, other_actor, decision.id, title="Hijacked")


class TestResourceChanges:
    def test_a_new_change_starts_planned_with_one_history_entry(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)
        at = utcnow()

        change = add_change(decisions, board_actor, decision.id, now=at)

        assert change.status == "planned"
        assert [(h.status, h.at) for h in change.history] == [("planned", at)]

    def test_history_survives_a_reload(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)
        change = add_change(decisions, board_actor, decision.id)
        move(decisions, board_actor, change.id, "implemented")
        move(decisions, board_actor, change.id, "in_progress", "A worker left.")

        _, _, [reloaded], _ = services.get_decision(decisions.uow(), board_actor.tenant, decision.id)

        assert [(h.status, h.note) for h in reloaded.history] == [
            ("planned", None),
            ("implemented", None),
            ("in_progress", "A worker left."),
        ]

    def test_money_without_a_currency_is_refused(self, decisions, board_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)

        with pytest.raises(InvalidInput) as caught:
            add_change(decisions, board_actor, decision.id, currency=None)

        assert set(caught.value.errors) == {"currency"}

    def test_another_tenants_change_is_not_found(self, decisions, board_actor, other_actor, board_id):
        decision, _, _ = record(decisions, board_actor, board_id)
        change = add_change(decisions, board_actor, decision.id)

        with pytest.raises(NotFound):
            move(decisions, other_actor, change.id, "cancelled", "Not yours.")
