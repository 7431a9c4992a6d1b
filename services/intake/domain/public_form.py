"""The rules of the public "have your say" form: who may send, what is kept once, and the
equality-monitoring questions it asks.

Plain Python: no framework, no database. The questions follow the ONS harmonised standards
(and the 2021 Census in Wales for the Welsh language), each with "Prefer not to say"; an
unanswered question is simply not recorded. The answers are stored as the English words of
the standard, so the staff dashboard counts them whichever language the form was in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.rules.domain import NotFound

PREFER_NOT_TO_SAY = "prefer_not_to_say"
# A keyed hash of (address, engagement, words, UK day) is the form's idempotency key:
# the same words from the same address on the same day are kept once. The purpose keeps
# these hashes apart from any other lookup key (shared/infra/crypto.py).
REPEAT_PURPOSE = "public_form.repeat"
REPEAT_KEY_PREFIX = "public-form:"


@dataclass(frozen=True)
class Answer:
    code: str  # in the form and the copy catalog
    value: str  # what is stored and counted


def _answers(*pairs: tuple[str, str]) -> tuple[Answer, ...]:
    return (*(Answer(code, value) for code, value in pairs), Answer(PREFER_NOT_TO_SAY, "Prefer not to say"))


# question -> its answers, in the order the form shows them. The question keys are those the
# API's `participant.equality` takes, so both routes count in the same groups.
EQUALITY_QUESTIONS: dict[str, tuple[Answer, ...]] = {
    "age_band": _answers(
        ("under_16", "Under 16"),
        ("16_24", "16 to 24"),
        ("25_34", "25 to 34"),
        ("35_44", "35 to 44"),
        ("45_54", "45 to 54"),
        ("55_64", "55 to 64"),
        ("65_74", "65 to 74"),
        ("75_over", "75 and over"),
    ),
    "sex": _answers(("female", "Female"), ("male", "Male")),
    # The five high-level ethnic groups of the ONS harmonised standard (2021, Wales wording).
    "ethnicity": _answers(
        ("asian", "Asian, Asian British or Asian Welsh"),
        ("black", "Black, Black British, Black Welsh, Caribbean or African"),
        ("mixed", "Mixed or Multiple ethnic groups"),
        ("white", "White"),
        ("other", "Other ethnic group"),
    ),
    # "Do you consider yourself to be disabled as defined by the Equality Act 2010?"
    "disability": _answers(("yes", "Yes"), ("no", "No")),
    # Unpaid care, in the 2021 Census bands.
    "carer": _answers(
        ("no", "No"),
        ("up_to_9", "Yes, 9 hours a week or less"),
        ("10_19", "Yes, 10 to 19 hours a week"),
        ("20_34", "Yes, 20 to 34 hours a week"),
        ("35_49", "Yes, 35 to 49 hours a week"),
        ("50_over", "Yes, 50 or more hours a week"),
    ),
    "welsh_speaker": _answers(("yes", "Yes"), ("no", "No")),
}


class EngagementClosed(Exception):
    """The engagement no longer takes views: staff closed it, or its feedback date has passed."""

    def __init__(self, engagement):
        super().__init__(engagement.id)
        self.engagement = engagement  # what the closed page tells people about


def check_open(engagement, today: dt.date) -> None:
    """An engagement takes views from the public until staff close it or its feedback date
    passes, that day included."""
    if engagement is None:
        raise NotFound("engagement")
    if engagement.closed_at is not None or engagement.feedback_due < today:
        raise EngagementClosed(engagement)


def equality_answers(chosen: dict[str, str]) -> dict[str, str]:
    """{question: code} as the form sent them -> {question: the standard's words}; questions
    left unanswered are left out. A code the form never offered is a KeyError: the form's
    schema lets none through."""
    stored = {}
    for question, code in chosen.items():
        if code:
            stored[question] = next(a.value for a in EQUALITY_QUESTIONS[question] if a.code == code)
    return stored


def same_words(text: str) -> str:
    """The words as a repeat is compared: case and spacing do not make a view new."""
    return " ".join(text.casefold().split())


def repeat_material(address: str, engagement_id: str, text: str, day: dt.date) -> str:
    """What the repeat key hashes (keyed, never stored): the address is never kept itself."""
    return "\x1f".join((address, engagement_id, same_words(text), day.isoformat()))
