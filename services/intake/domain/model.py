"""Engagements, participants and contributions, and the rules they keep.

Plain Python: no framework, no database. The service layer loads and saves these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from shared.rules import disclosure
from shared.rules.domain import InvalidInput

# A timestamp this far ahead of our clock is a clock problem, not a contribution.
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass
class Engagement:
    id: str
    tenant: str
    title: str
    service_area: str
    description: str
    can_change: list[str]
    cannot_change: list[str]
    decision_maker: str
    feedback_due: dt.date
    created_at: dt.datetime
    languages: list[str] = field(default_factory=lambda: ["en"])
    closed_at: dt.datetime | None = None

    def check_open(self) -> None:
        """A closed engagement is kept as it was closed."""
        if self.closed_at is not None:
            raise InvalidInput.on("engagement_id", "This engagement is closed.")

    def revise(self, data: dict, today: dt.date) -> None:
        """Staff correct or extend what people are told; the feedback date may not move into the past."""
        self.check_open()
        if data["feedback_due"] != self.feedback_due:
            check_feedback_due(data["feedback_due"], today)
        for name, value in data.items():
            setattr(self, name, value)

    def close(self, now: dt.datetime) -> bool:
        """Close it (False if it was closed already: closing twice changes nothing)."""
        if self.closed_at is not None:
            return False
        self.closed_at = now
        return True


@dataclass
class Contact:
    """What identifies or reaches a person: sealed on topics, encrypted at rest."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address_lines: list[str] | None = None  # a postal address without its postcode
    postcode: str | None = None


@dataclass
class Participant:
    id: str
    tenant: str
    preferred_channel: str
    language: str
    format: str
    consent_to_contact: bool
    contact: Contact = field(default_factory=Contact)
    external_ref: str | None = None
    created_at: dt.datetime | None = None
    erased_at: dt.datetime | None = None

    def erase(self, now: dt.datetime) -> None:
        """Forget who the person is and how to reach them, at their request. What they
        said stays counted in the chain, anonymously; nothing can reach them any more."""
        self.contact = Contact()
        self.external_ref = None
        self.preferred_channel = "none"
        self.consent_to_contact = False
        self.erased_at = now

    def check_can_contribute(self) -> None:
        """An erased person is not brought back by a later submission naming their old id:
        if they take part again, they are registered afresh (a new id, nothing carried over)."""
        if self.erased_at is not None:
            raise InvalidInput.on("participant_id", "This participant has been erased; register them again.")

    def check_reachable(self) -> None:
        """A participant who consented must give the address their channel needs."""
        if not self.consent_to_contact:
            return
        if self.preferred_channel == "email" and not self.contact.email:
            raise InvalidInput.on("email", "Required when the preferred channel is email.")
        if self.preferred_channel == "sms" and not self.contact.phone:
            raise InvalidInput.on("phone", "Required when the preferred channel is sms.")
        if self.preferred_channel == "post" and not (self.contact.address_lines and self.contact.postcode):
            raise InvalidInput.on("address_lines", "Required when the preferred channel is post.")

    def preferences(self) -> dict:
        return {
            "preferred_channel": self.preferred_channel,
            "language": self.language,
            "format": self.format,
            "consent_to_contact": self.consent_to_contact,
        }

    def same_details_as(self, other: Participant) -> bool:
        return self.preferences() == other.preferences() and self.contact == other.contact


@dataclass
class Contribution:
    id: str
    tenant: str
    reference: str
    engagement_id: str
    participant_id: str
    type: str
    text: str
    on_behalf_of: int
    channel: str
    submitted_at: dt.datetime
    received_at: dt.datetime
    status: str
    submitted_by: str


def reference_for(tenant: str, year: int, sequence: int) -> str:
    """Short and human, for quoting on the phone: DEMO-2026-000123."""
    return f"{tenant.upper()}-{year}-{sequence:06d}"


EARLIEST_SUBMISSION = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def check_submitted_at(submitted_at: dt.datetime, received_at: dt.datetime) -> None:
    if submitted_at - received_at > ALLOWED_CLOCK_SKEW:
        raise InvalidInput.on("submitted_at", "Must not be in the future.")
    if submitted_at < EARLIEST_SUBMISSION:
        raise InvalidInput.on("submitted_at", "Must be in 2000 or later.")


def check_feedback_due(feedback_due: dt.date, today: dt.date) -> None:
    """People are told when they will hear back; that date cannot already be gone."""
    if feedback_due < today:
        raise InvalidInput.on("feedback_due", "Must not be in the past.")


def equality_summary(answer_sets: list[dict[str, str]]) -> dict:
    """Counts per question and answer over everyone who answered. Answers given by fewer
    than five people are not listed (only counted together as "other answers"), and with
    fewer than five respondents nothing is broken down at all: no one can be picked out."""
    respondents = len(answer_sets)
    if respondents < disclosure.THRESHOLD:
        return {"respondents": disclosure.count_showing_nobody(respondents), "questions": {}}
    tallies: dict[str, dict[str, int]] = {}
    for answers in answer_sets:
        for question, answer in answers.items():
            per_answer = tallies.setdefault(question, {})
            per_answer[answer] = per_answer.get(answer, 0) + 1
    questions = {
        question: disclosure.pooled(per_answer, "other answers") for question, per_answer in sorted(tallies.items())
    }
    return {"respondents": respondents, "questions": questions}
