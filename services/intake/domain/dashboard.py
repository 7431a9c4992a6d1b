"""The staff dashboard's statistics: is the loop closed, how fast, and for whom.

Plain Python over one plain record per contribution. The equality breakdown hides small
numbers (the rules are shared.rules.disclosure's): a group of fewer than five people reads
"fewer than 5", the smallest group of five or more is hidden beside it ("5 or more"), and
no hidden group's rates are shown; a rate is withheld when it would reveal a count of one
to four (who did, or who did not), and if only one rate of a measure is withheld, the next
smallest is withheld too, so no hidden number can be worked out from the total and the others.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from shared.rules import disclosure
from shared.rules.constants import CONTRIBUTION_TYPES, OUTCOMES

WITHHELD = "withheld"
NOT_ANSWERED = "not answered"
NO_DECISION_YET = "none yet"
# "Did this make a difference?": yes, or partly, counts as making a difference.
MADE_A_DIFFERENCE = ("yes", "partly")
MEASURES = ("participation_rate", "decision_rate", "difference_rate")
OVERDUE_LISTED = 200  # the longest overdue list shown; the count says how many in all


@dataclass(frozen=True)
class ContributionFacts:
    id: str
    reference: str
    type: str
    participant_id: str
    engagement_id: str
    engagement_title: str
    feedback_due: dt.date
    received_at: dt.datetime
    first_decided_at: dt.datetime | None
    latest_outcome: str | None
    feedback_delivered_at: dt.datetime | None
    rating: str | None
    equality: dict[str, str]  # empty when the person gave no answers

    @property
    def decided(self) -> bool:
        return self.first_decided_at is not None

    @property
    def made_a_difference(self) -> bool:
        return self.rating in MADE_A_DIFFERENCE


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def median_days(spans: Iterable[dt.timedelta]) -> float | None:
    days = [span.total_seconds() / 86400 for span in spans]
    return round(statistics.median(days), 1) if days else None


def coverage(facts: list[ContributionFacts]) -> dict:
    total = len(facts)
    decided = sum(f.decided for f in facts)
    told = sum(f.feedback_delivered_at is not None for f in facts)
    rated = sum(f.rating is not None for f in facts)
    return {
        "contributions": total,
        "with_decision": decided,
        "with_feedback_delivered": told,
        "rated": rated,
        "share_with_decision": share(decided, total),
        "share_with_feedback_delivered": share(told, total),
        "share_rated": share(rated, total),
        "median_days_to_first_decision": median_days(
            f.first_decided_at - f.received_at for f in facts if f.first_decided_at
        ),
        "median_days_to_feedback_delivered": median_days(
            f.feedback_delivered_at - f.received_at for f in facts if f.feedback_delivered_at
        ),
    }


def overdue(facts: list[ContributionFacts], today: dt.date) -> dict:
    """Contributions whose engagement's feedback date has passed with no decision, longest first."""
    late = sorted(
        (f for f in facts if not f.decided and f.feedback_due < today),
        key=lambda f: (f.feedback_due, f.received_at, f.reference),
    )
    return {
        "count": len(late),
        "contributions": [
            {
                "contribution_id": f.id,
                "reference": f.reference,
                "engagement_id": f.engagement_id,
                "engagement_title": f.engagement_title,
                "feedback_due": f.feedback_due.isoformat(),
                "days_overdue": (today - f.feedback_due).days,
            }
            for f in late[:OVERDUE_LISTED]
        ],
    }


def outcomes_by_type(facts: list[ContributionFacts]) -> dict[str, dict[str, int]]:
    """Contribution type x the outcome of its latest decision ("none yet" without one)."""
    counted = Counter((f.type, f.latest_outcome or NO_DECISION_YET) for f in facts)
    return {
        kind: {outcome: counted[(kind, outcome)] for outcome in (*OUTCOMES, NO_DECISION_YET)}
        for kind in CONTRIBUTION_TYPES
    }


# The equality breakdown -------------------------------------------------------------------


@dataclass
class _Cell:
    """One answer to one question: its people and their contributions."""

    answer: str
    people: set[str]
    contributions: int = 0
    decided: int = 0
    rated: int = 0
    made_a_difference: int = 0
    hidden: bool = False  # fewer than five people, or hidden so a small group cannot be derived

    def ratios(self, total: int) -> dict[str, tuple[int, int]]:
        """measure -> (numerator, denominator)."""
        return {
            "participation_rate": (self.contributions, total),
            "decision_rate": (self.decided, self.contributions),
            "difference_rate": (self.made_a_difference, self.rated),
        }


def _cells(facts: list[ContributionFacts], question: str) -> list[_Cell]:
    cells: dict[str, _Cell] = {}
    for f in facts:
        answer = f.equality.get(question) or NOT_ANSWERED
        cell = cells.setdefault(answer, _Cell(answer, set()))
        cell.people.add(f.participant_id)
        cell.contributions += 1
        cell.decided += f.decided
        cell.rated += f.rating is not None
        cell.made_a_difference += f.made_a_difference
    return sorted(cells.values(), key=lambda cell: (cell.answer == NOT_ANSWERED, cell.answer.casefold()))


def _question(facts: list[ContributionFacts], question: str) -> list[dict]:
    cells = _cells(facts, question)
    total = len(facts)
    hidden_groups = disclosure.parts_to_hide({cell.answer: len(cell.people) for cell in cells})
    for cell in cells:
        cell.hidden = hidden_groups is None or cell.answer in hidden_groups
    withheld: dict[str, set[str]] = {}
    for measure in MEASURES:
        hidden = {
            cell.answer for cell in cells if cell.hidden or disclosure.rate_withheld(*cell.ratios(total)[measure])
        }
        with_a_rate = {
            cell.answer: (len(cell.people), cell.contributions) for cell in cells if cell.ratios(total)[measure][1] > 0
        }
        withheld[measure] = disclosure.beside_a_lone_hidden_rate(hidden, with_a_rate)
    rows = []
    for cell in cells:
        ratios = cell.ratios(total)
        row = {
            "answer": cell.answer,
            "people": disclosure.hidden(len(cell.people)) if cell.hidden else len(cell.people),
            "contributions": disclosure.hidden(cell.contributions) if cell.hidden else cell.contributions,
        }
        for measure in MEASURES:
            numerator, denominator = ratios[measure]
            row[measure] = WITHHELD if cell.answer in withheld[measure] else share(numerator, denominator)
        rows.append(row)
    return rows


def equality_breakdown(facts: list[ContributionFacts]) -> dict:
    """Per question asked in scope, each answer's participation, decision and "made a
    difference" rates beside the overall rates. Only questions someone answered appear."""
    answered = {question for f in facts for question in f.equality}
    overall = _Cell("overall", {f.participant_id for f in facts})
    overall.contributions = len(facts)
    overall.decided = sum(f.decided for f in facts)
    overall.rated = sum(f.rating is not None for f in facts)
    overall.made_a_difference = sum(f.made_a_difference for f in facts)
    return {
        "overall": {
            "people": len(overall.people),
            "contributions": overall.contributions,
            **{measure: share(*ratio) for measure, ratio in overall.ratios(len(facts)).items()},
        },
        "questions": {question: _question(facts, question) for question in sorted(answered)},
    }
