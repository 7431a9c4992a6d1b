"""The dashboard's statistics, and the small numbers it must never give away."""

from __future__ import annotations

import datetime as dt
import itertools

from services.intake.domain import dashboard
from services.intake.domain.dashboard import ContributionFacts

RECEIVED = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2027, 3, 1)
_ids = itertools.count(1)


def facts(
    *, group: str | None = None, decided_after_days: float | None = None, rating=None, due=dt.date(2027, 4, 1), **more
) -> ContributionFacts:
    n = next(_ids)
    decided_at = RECEIVED + dt.timedelta(days=decided_after_days) if decided_after_days is not None else None
    values = dict(
        id=f"c{n}",
        reference=f"WILTSHIRE-2027-{n:06d}",
        type="view",
        participant_id=f"p{n}",
        engagement_id="e1",
        engagement_title="Day services",
        feedback_due=due,
        received_at=RECEIVED,
        first_decided_at=decided_at,
        latest_outcome="adopted" if decided_at else None,
        feedback_delivered_at=None,
        rating=rating,
        equality={"ethnicity": group} if group else {},
    )
    values.update(more)
    return ContributionFacts(**values)


def people(count: int, **kwargs) -> list[ContributionFacts]:
    return [facts(**kwargs) for _ in range(count)]


def groups(report: dict, question: str = "ethnicity") -> dict[str, dict]:
    return {row["answer"]: row for row in report["questions"][question]}


def test_coverage_counts_shares_and_median_days():
    everyone = [
        facts(decided_after_days=2, feedback_delivered_at=RECEIVED + dt.timedelta(days=3), rating="yes"),
        facts(decided_after_days=4),
        facts(decided_after_days=10),
        facts(),
    ]

    coverage = dashboard.coverage(everyone)

    assert coverage["share_with_decision"] == 0.75
    assert coverage["share_with_feedback_delivered"] == 0.25
    assert coverage["share_rated"] == 0.25
    assert coverage["median_days_to_first_decision"] == 4.0
    assert coverage["median_days_to_feedback_delivered"] == 3.0


def test_the_overdue_list_is_what_passed_its_date_undecided_longest_wait_first():
    late = facts(due=dt.date(2027, 2, 1))
    later = facts(due=dt.date(2027, 1, 20))
    decided = facts(due=dt.date(2027, 1, 1), decided_after_days=1)
    on_time = facts(due=dt.date(2027, 5, 1))

    found = dashboard.overdue([late, later, decided, on_time], TODAY)

    assert found["count"] == 2
    assert [(c["reference"], c["days_overdue"]) for c in found["contributions"]] == [
        (later.reference, 40),
        (late.reference, 28),
    ]


def test_outcomes_by_type_count_the_latest_outcome_and_those_with_none_yet():
    table = dashboard.outcomes_by_type([facts(decided_after_days=1), facts(), facts(type="complaint")])

    assert table["view"]["adopted"] == 1
    assert table["view"]["none yet"] == 1
    assert table["complaint"]["none yet"] == 1
    assert table["question"] == dict.fromkeys(table["question"], 0)


def test_a_group_of_four_reads_fewer_than_5_and_its_rates_are_hidden():
    everyone = people(4, group="Gypsy or Irish Traveller") + people(20, group="White British", decided_after_days=1)
    everyone += people(12, group="Asian British")

    report = dashboard.equality_breakdown(everyone)
    shown = groups(report)

    small = shown["Gypsy or Irish Traveller"]
    assert (small["people"], small["contributions"]) == ("fewer than 5", "fewer than 5")
    assert {small[m] for m in dashboard.MEASURES} == {"withheld"}
    assert "4" not in str(small)


def test_a_hidden_group_cannot_be_worked_out_from_the_total_and_the_others():
    everyone = people(3, group="Black British") + people(9, group="Asian British") + people(30, group="White British")

    report = dashboard.equality_breakdown(everyone)
    shown = groups(report)

    # The total (42) less the groups still shown must not leave a single hidden group.
    hidden = [answer for answer, row in shown.items() if isinstance(row["people"], str)]
    numbers = [row["contributions"] for row in shown.values() if isinstance(row["contributions"], int)]
    assert shown["Black British"]["contributions"] == "fewer than 5"
    # The next smallest, hidden with it, and saying truthfully that it is not small.
    assert (shown["Asian British"]["people"], shown["Asian British"]["contributions"]) == ("5 or more", "5 or more")
    assert report["overall"]["contributions"] - sum(numbers) == 12  # two groups together, neither alone
    assert len(hidden) == 2


def test_people_who_answered_nothing_are_a_group_of_their_own_and_protected_alike():
    everyone = people(30, group="White British") + people(2)

    shown = groups(dashboard.equality_breakdown(everyone))

    assert shown["not answered"]["people"] == "fewer than 5"
    assert shown["White British"]["people"] == "5 or more"  # else 32 - 30 gives the 2 away


def test_two_groups_of_one_cannot_be_worked_out_together():
    everyone = people(1, group="Black British") + people(1, group="Arab") + people(30, group="White British")

    shown = groups(dashboard.equality_breakdown(everyone))

    # 32 - 30 would leave 2 for two groups that each have someone: one each.
    assert shown["Arab"]["people"] == shown["Black British"]["people"] == "fewer than 5"
    assert shown["White British"]["people"] == "5 or more"


def test_a_rate_that_would_reveal_one_to_four_people_is_withheld_with_another_beside_it():
    everyone = (
        people(3, group="Asian British", decided_after_days=1)
        + people(7, group="Asian British")
        + people(15, group="White British", decided_after_days=1)
        + people(10, group="Black British", decided_after_days=1)
        + people(10, group="Black British")
    )

    shown = groups(dashboard.equality_breakdown(everyone))

    assert shown["Asian British"]["decision_rate"] == "withheld"  # 3 of 10 decided
    # 15 of 15 gives nobody away, but with the overall rate it would give the 3 away: the
    # smallest other group's rate is hidden too.
    assert shown["White British"]["decision_rate"] == "withheld"
    assert shown["Black British"]["decision_rate"] == 0.5
    assert shown["Asian British"]["people"] == 10


def test_made_a_difference_counts_yes_and_partly_among_those_who_answered():
    everyone = (
        people(5, group="White British", rating="yes")
        + people(5, group="White British", rating="partly")
        + people(5, group="White British", rating="no")
        + people(5, group="White British")
        + people(10, group="Asian British", rating="no")
    )

    report = dashboard.equality_breakdown(everyone)

    assert report["overall"]["difference_rate"] == round(10 / 25, 3)
    assert groups(report)["White British"]["difference_rate"] == round(10 / 15, 3)
    assert groups(report)["Asian British"]["difference_rate"] == 0.0


def test_nobody_rated_means_no_rate_rather_than_a_hidden_one():
    shown = groups(dashboard.equality_breakdown(people(10, group="White British") + people(10, group="Other")))

    assert shown["White British"]["difference_rate"] is None
