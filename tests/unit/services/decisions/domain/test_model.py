"""Decisions' domain rules, in plain Python."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from services.decisions.domain import model
from shared.rules.constants import CONTRIBUTION_STATUSES
from shared.rules.domain import InvalidInput

NOW = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)
CANNOT_CHANGE = ["the total budget", "closing the Elm Road site"]


def decision(**overrides) -> model.Decision:
    values = {
        "id": str(uuid.uuid4()),
        "tenant": "wiltshire",
        "board_id": str(uuid.uuid4()),
        "title": "Saturday opening",
        "description": "Open the day centres on Saturdays.",
        "decided_on": dt.date(2026, 6, 1),
        "outcome": "adopted",
        "rationale": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return model.Decision(**values)


def out_of_scope(**overrides) -> model.Decision:
    values = {
        "outcome": "out_of_scope",
        "rationale": "The budget is set by full council in February.",
        "engagement_id": str(uuid.uuid4()),
        "scope_limit_kind": "cannot_change",
        "scope_limit": "the total budget",
    }
    values.update(overrides)
    return decision(**values)


def resource_change(**overrides) -> model.ResourceChange:
    values = {
        "id": str(uuid.uuid4()),
        "tenant": "wiltshire",
        "decision_id": str(uuid.uuid4()),
        "kind": "budget",
        "description": "Saturday staffing",
        "status": "planned",
        "created_at": NOW,
        "amount": Decimal("48000.00"),
        "currency": "GBP",
    }
    values.update(overrides)
    return model.ResourceChange(**values)


def refused_fields(check, *args) -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        check(*args)
    return set(caught.value.errors)


class TestDecisionRules:
    def test_an_adopted_decision_needs_no_rationale(self):
        decision(outcome="adopted", rationale=None).check(None)

    @pytest.mark.parametrize(
        "extra",
        [
            {"outcome": "partly_adopted"},
            {"outcome": "not_adopted"},
            {"outcome": "deferred", "revisit_on": dt.date(2026, 9, 1)},
            {"outcome": "out_of_scope", "scope_limit_kind": "remit", "scope_limit": "Housing is not ours."},
        ],
        ids=lambda extra: extra["outcome"],
    )
    @pytest.mark.parametrize("rationale", [None, "", "   \n\t "], ids=["missing", "empty", "blank"])
    def test_every_other_outcome_needs_a_rationale(self, extra, rationale):
        assert refused_fields(decision(rationale=rationale, **extra).check, None) == {"rationale"}

    def test_a_rationale_is_enough_for_partly_and_not_adopted(self):
        decision(outcome="partly_adopted", rationale="Saturdays yes, Sundays no.").check(None)
        decision(outcome="not_adopted", rationale="The building is closing.").check(None)

    def test_deferring_needs_a_date_to_revisit(self):
        deferred = decision(outcome="deferred", rationale="Waiting for the staffing review.")

        assert refused_fields(deferred.check, None) == {"revisit_on"}
        deferred.revisit_on = dt.date(2026, 9, 1)
        deferred.check(None)

    def test_every_broken_rule_is_named_at_once(self):
        assert refused_fields(decision(outcome="deferred", rationale=" ").check, None) == {"rationale", "revisit_on"}

    @pytest.mark.parametrize(
        "limit",
        [
            {"scope_limit_kind": None, "scope_limit": None},
            {"scope_limit_kind": None, "scope_limit": "the total budget"},
            {"scope_limit_kind": "cannot_change", "scope_limit": None},
            {"scope_limit_kind": "cannot_change", "scope_limit": "   "},
            {"scope_limit_kind": "remit", "scope_limit": ""},
        ],
        ids=["nothing", "no kind", "no item", "blank item", "empty remit"],
    )
    def test_out_of_scope_must_name_what_limits_it(self, limit):
        assert refused_fields(out_of_scope(**limit).check, CANNOT_CHANGE) == {"scope_limit"}

    def test_out_of_scope_may_name_one_of_the_engagements_cannot_change_items(self):
        out_of_scope(scope_limit="closing the Elm Road site").check(CANNOT_CHANGE)

    @pytest.mark.parametrize("item", ["opening hours", "The total budget", "the total budget "])
    def test_out_of_scope_refuses_an_item_the_engagement_does_not_list(self, item):
        assert refused_fields(out_of_scope(scope_limit=item).check, CANNOT_CHANGE) == {"scope_limit"}

    def test_cannot_change_is_accepted_while_the_engagement_is_not_yet_known(self):
        out_of_scope(scope_limit="anything the board says").check(None)

    def test_cannot_change_needs_an_engagement_to_belong_to(self):
        assert refused_fields(out_of_scope(engagement_id=None).check, None) == {"engagement_id"}

    @pytest.mark.parametrize("engagement_id", [None, "5b0e7d4e-3c1f-4a8e-9d2a-6f1b2c3d4e5f"])
    def test_a_remit_limit_is_any_text(self, engagement_id):
        remit = out_of_scope(
            engagement_id=engagement_id, scope_limit_kind="remit", scope_limit="Bus routes are the county's."
        )

        remit.check(CANNOT_CHANGE)
        remit.check(None)

    def test_scope_limits_do_not_apply_to_other_outcomes(self):
        decision(outcome="not_adopted", rationale="No.", scope_limit_kind="cannot_change", scope_limit="x").check(
            CANNOT_CHANGE
        )


class TestAmendments:
    def test_returns_what_changed_before_and_after_and_bumps_the_version(self):
        original = decision(outcome="adopted", rationale=None, title="Saturday opening")

        changed = original.amend(
            {"outcome": "partly_adopted", "rationale": "Only the Elm Road centre.", "title": "Saturday opening"}, LATER
        )

        assert changed == {
            "outcome": ["adopted", "partly_adopted"],
            "rationale": [None, "Only the Elm Road centre."],
        }
        assert original.version == 2
        assert original.updated_at == LATER
        assert original.created_at == NOW
        assert (original.outcome, original.rationale) == ("partly_adopted", "Only the Elm Road centre.")

    def test_each_amendment_is_another_version(self):
        amended = decision()
        amended.amend({"title": "Saturdays"}, LATER)
        amended.amend({"title": "Saturdays and Sundays"}, LATER + dt.timedelta(days=1))

        assert amended.version == 3

    def test_an_amendment_that_changes_nothing_is_refused(self):
        same = decision(title="Saturday opening")

        with pytest.raises(InvalidInput) as caught:
            same.amend({"title": "Saturday opening", "rationale": None}, LATER)

        assert set(caught.value.errors) == {"_schema"}
        assert same.version == 1
        assert same.updated_at == NOW

    @pytest.mark.parametrize("name", ["id", "tenant", "board_id", "engagement_id", "version", "created_at"])
    def test_only_the_decisions_own_fields_can_be_amended(self, name):
        fixed = decision()
        before = getattr(fixed, name)

        with pytest.raises(InvalidInput):
            fixed.amend({name: "something else"}, LATER)

        assert getattr(fixed, name) == before

    def test_snapshot_holds_every_amendable_field(self):
        assert set(decision().snapshot()) == set(model.Decision.AMENDABLE)


class TestMoney:
    def test_an_amount_with_its_currency_is_accepted(self):
        resource_change().check_money()

    def test_zero_is_an_amount(self):
        resource_change(amount=Decimal("0")).check_money()

    def test_no_money_at_all_is_accepted(self):
        resource_change(amount=None, currency=None).check_money()

    def test_a_negative_amount_is_refused(self):
        assert refused_fields(resource_change(amount=Decimal("-0.01")).check_money) == {"amount"}

    def test_an_amount_without_a_currency_is_refused_on_the_currency(self):
        assert refused_fields(resource_change(currency=None).check_money) == {"currency"}

    def test_a_currency_without_an_amount_is_refused_on_the_amount(self):
        assert refused_fields(resource_change(amount=None).check_money) == {"amount"}


class TestResourceStatus:
    def test_moves_forward_recording_each_step_with_its_note_and_time(self):
        change = resource_change()

        change.move("in_progress", "Recruiting now.", None, NOW)
        change.move("implemented", None, None, LATER)

        assert change.status == "implemented"
        assert [(h.status, h.note, h.at) for h in change.history] == [
            ("in_progress", "Recruiting now.", NOW),
            ("implemented", None, LATER),
        ]

    def test_planned_may_go_straight_to_implemented(self):
        change = resource_change()

        entry = change.move("implemented", None, None, NOW)

        assert entry.status == "implemented"

    def test_implemented_means_all_the_way(self):
        change = resource_change()
        change.move("in_progress", None, 40, NOW)

        entry = change.move("implemented", None, None, LATER)

        assert change.progress_percent == 100
        assert entry.progress_percent == 100

    @pytest.mark.parametrize("note", [None, "", "   "], ids=["missing", "empty", "blank"])
    @pytest.mark.parametrize("back_to", ["in_progress", "planned"])
    def test_going_back_from_implemented_needs_a_note(self, back_to, note):
        change = resource_change()
        change.move("implemented", None, None, NOW)

        assert refused_fields(change.move, back_to, note, None, LATER) == {"note"}
        assert change.status == "implemented"
        assert len(change.history) == 1

    def test_going_back_from_implemented_with_a_note_is_recorded(self):
        change = resource_change()
        change.move("implemented", None, None, NOW)

        entry = change.move("in_progress", "The second worker left; recruiting again.", None, LATER)

        assert change.status == "in_progress"
        assert (entry.status, entry.note, entry.at) == (
            "in_progress",
            "The second worker left; recruiting again.",
            LATER,
        )

    def test_going_back_from_in_progress_needs_a_note_too(self):
        change = resource_change()
        change.move("in_progress", None, None, NOW)

        assert refused_fields(change.move, "planned", None, None, LATER) == {"note"}

    @pytest.mark.parametrize("status", ["planned", "in_progress", "implemented"])
    def test_a_cancelled_change_cannot_reopen(self, status):
        change = resource_change()
        change.move("cancelled", "Funding withdrawn.", None, NOW)

        assert refused_fields(change.move, status, "Funding is back.", None, LATER) == {"status"}
        assert change.status == "cancelled"

    def test_the_same_status_again_is_refused(self):
        change = resource_change()

        assert refused_fields(change.move, "planned", None, None, NOW) == {"status"}
        assert change.history == []

    def test_a_progress_update_alone_is_recorded(self):
        change = resource_change()
        change.move("in_progress", None, 10, NOW)

        entry = change.move(None, "Half the rota filled.", 50, LATER)

        assert change.status == "in_progress"
        assert change.progress_percent == 50
        assert (entry.status, entry.progress_percent, entry.note, entry.at) == (
            "in_progress",
            50,
            "Half the rota filled.",
            LATER,
        )
        assert len(change.history) == 2

    def test_the_same_progress_again_is_refused(self):
        change = resource_change()
        change.move("in_progress", None, 50, NOW)

        assert refused_fields(change.move, None, None, 50, LATER) == {"status"}


def facts(*, due=None, outcomes=(), resources=(), delivered=False) -> model.ChainFacts:
    return model.ChainFacts(
        feedback_due=due, outcomes=tuple(outcomes), resource_statuses=tuple(resources), feedback_delivered=delivered
    )


TODAY = dt.date(2026, 6, 1)
PAST = TODAY - dt.timedelta(days=1)
FUTURE = TODAY + dt.timedelta(days=30)

DERIVED = {
    "nothing yet": (facts(due=FUTURE), "received"),
    "nothing yet, engagement unknown": (facts(), "received"),
    "due today is not overdue": (facts(due=TODAY), "received"),
    "past due with no decision": (facts(due=PAST), "overdue"),
    "past due and only deferred": (facts(due=PAST, outcomes=["deferred"]), "overdue"),
    "only deferred": (facts(due=FUTURE, outcomes=["deferred"]), "under_consideration"),
    "only deferred, twice": (facts(due=FUTURE, outcomes=["deferred", "deferred"]), "under_consideration"),
    "adopted": (facts(due=FUTURE, outcomes=["adopted"]), "decided"),
    "not adopted": (facts(due=FUTURE, outcomes=["not_adopted"]), "decided"),
    "out of scope": (facts(due=FUTURE, outcomes=["out_of_scope"]), "decided"),
    "decided after the date is not overdue": (facts(due=PAST, outcomes=["partly_adopted"]), "decided"),
    "deferred then adopted": (facts(due=PAST, outcomes=["deferred", "adopted"]), "decided"),
    "change planned": (facts(outcomes=["adopted"], resources=["planned"]), "decided"),
    "change in progress, told": (facts(outcomes=["adopted"], resources=["in_progress"], delivered=True), "decided"),
    "one of two changes implemented": (facts(outcomes=["adopted"], resources=["implemented", "planned"]), "decided"),
    "change implemented": (facts(outcomes=["adopted"], resources=["implemented"]), "implemented"),
    "implemented and cancelled": (facts(outcomes=["adopted"], resources=["implemented", "cancelled"]), "implemented"),
    "only cancelled, not told": (facts(outcomes=["adopted"], resources=["cancelled"]), "decided"),
    "implemented and told": (facts(outcomes=["adopted"], resources=["implemented"], delivered=True), "closed"),
    "decided with no change, told": (facts(outcomes=["not_adopted"], delivered=True), "closed"),
    "decided with no change, not told": (facts(outcomes=["not_adopted"]), "decided"),
    "decided and deferred, told": (facts(outcomes=["not_adopted", "deferred"], delivered=True), "decided"),
}


class TestDerivedStatus:
    @pytest.mark.parametrize(("chain", "expected"), DERIVED.values(), ids=DERIVED.keys())
    def test_status_follows_the_chain(self, chain, expected):
        assert model.derive_status(chain, TODAY) == expected

    def test_every_status_can_be_reached(self):
        assert {expected for _, expected in DERIVED.values()} == set(CONTRIBUTION_STATUSES)


class TestLinks:
    def test_confirming_a_pending_link_records_when(self):
        link = model.Link(
            id="l",
            tenant="wiltshire",
            decision_id="d",
            contribution_id="c",
            influence="i",
            state="pending",
            linked_at=NOW,
        )

        link.confirm(LATER)
        link.confirm(LATER + dt.timedelta(hours=1))

        assert (link.state, link.confirmed_at) == ("confirmed", LATER)

    def test_an_unresolved_link_can_still_be_confirmed(self):
        link = model.Link(
            id="l",
            tenant="wiltshire",
            decision_id="d",
            contribution_id="c",
            influence="i",
            state="unresolved",
            linked_at=NOW,
        )

        link.confirm(LATER)

        assert link.state == "confirmed"
