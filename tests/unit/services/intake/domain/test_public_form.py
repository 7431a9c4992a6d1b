"""The public form's rules: when an engagement takes views, which answers are kept, what a repeat is."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.domain import public_form as rules
from services.intake.domain.model import Engagement
from shared.rules.domain import NotFound

TODAY = dt.date(2027, 3, 1)


def engagement(feedback_due: dt.date) -> Engagement:
    return Engagement(
        id="e1",
        tenant="wiltshire",
        title="Library hours",
        service_area="Libraries",
        description="When should the library open?",
        can_change=["hours"],
        cannot_change=["budget"],
        decision_maker="Cabinet",
        feedback_due=feedback_due,
        created_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )


class TestTakingViews:
    @pytest.mark.parametrize("days", [0, 1, 90])
    def test_until_its_feedback_date_that_day_included(self, days):
        rules.check_open(engagement(TODAY + dt.timedelta(days=days)), TODAY)

    def test_closed_after_its_feedback_date(self):
        with pytest.raises(rules.EngagementClosed):
            rules.check_open(engagement(TODAY - dt.timedelta(days=1)), TODAY)

    def test_closed_by_staff_before_its_feedback_date(self):
        closed = engagement(TODAY + dt.timedelta(days=30))
        closed.close(dt.datetime(2027, 2, 27, tzinfo=dt.UTC))
        with pytest.raises(rules.EngagementClosed):
            rules.check_open(closed, TODAY)

    def test_an_unknown_engagement_is_not_found(self):
        with pytest.raises(NotFound):
            rules.check_open(None, TODAY)


class TestEqualityAnswers:
    def test_every_question_offers_prefer_not_to_say_last(self):
        for answers in rules.EQUALITY_QUESTIONS.values():
            assert answers[-1].code == rules.PREFER_NOT_TO_SAY
            assert len({a.code for a in answers}) == len(answers)

    def test_the_standards_words_are_kept_and_unanswered_questions_left_out(self):
        chosen = {"age_band": "75_over", "ethnicity": "mixed", "sex": None, "carer": rules.PREFER_NOT_TO_SAY}

        assert rules.equality_answers(chosen) == {
            "age_band": "75 and over",
            "ethnicity": "Mixed or Multiple ethnic groups",
            "carer": "Prefer not to say",
        }

    def test_the_five_high_level_ethnic_groups(self):
        values = [a.value for a in rules.EQUALITY_QUESTIONS["ethnicity"] if a.code != rules.PREFER_NOT_TO_SAY]
        assert len(values) == 5 and "White" in values


class TestRepeats:
    def test_case_and_spacing_do_not_make_a_view_new(self):
        assert rules.repeat_material("a", "e1", "Open  on\nSaturdays", TODAY) == rules.repeat_material(
            "a", "e1", "open on saturdays ", TODAY
        )

    @pytest.mark.parametrize(
        "other",
        [
            ("b", "e1", "Open on Saturdays", TODAY),
            ("a", "e2", "Open on Saturdays", TODAY),
            ("a", "e1", "Open on Sundays", TODAY),
            ("a", "e1", "Open on Saturdays", TODAY + dt.timedelta(days=1)),
        ],
    )
    def test_another_address_engagement_text_or_day_is_a_new_view(self, other):
        assert rules.repeat_material("a", "e1", "Open on Saturdays", TODAY) != rules.repeat_material(*other)
