"""Request bodies and events as a council's case system sends them.

The HTTP body is a template: the load generator puts a request number where `@@N@@`
stands and six digits of it where `@@P@@` stands, so every request registers its own
participant (own external reference, name, email and phone), as real traffic does.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

NUMBER = "@@N@@"
PHONE_DIGITS = "@@P@@"

CASE_SYSTEM_SOURCE = "https://case-system.example.gov.uk/adults"

TEXTS = (
    "Please open the day centre on Saturdays. My mum is on her own all weekend and the "
    "Monday to Friday sessions are the only time she sees anyone. A Saturday morning "
    "session, even a short one, would make a real difference to her and to me as her carer.",
    "The transport to the centre arrives at different times every week and twice it did not "
    "come at all. Nobody phoned to say. I would like a fixed pick-up window and a call if it "
    "is running late.",
    "I want to say thank you to the staff on the reablement team. They listened, they came "
    "when they said they would, and they helped me get back to making my own meals.",
)


def engagement_body() -> dict:
    return {
        "title": "Day services review",
        "service_area": "Adult social care",
        "description": "How should our day centres change next year? We want to hear from the "
        "people who use them, their families and carers.",
        "can_change": ["opening hours", "activities offered", "how transport is booked"],
        "cannot_change": ["the total budget", "closing the Elm Road site"],
        "decision_maker": "Adult Social Care Partnership Board",
        "feedback_due": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
    }


def contribution_body(engagement_id: str, number: int | str, phone_digits: str, text: str = TEXTS[0]) -> dict:
    """A POST /v1/contributions body with the participant inline."""
    return {
        "engagement_id": engagement_id,
        "type": "view",
        "text": text,
        "channel": "case_system",
        "on_behalf_of": 1,
        "participant": {
            "external_ref": f"CS-{number}",
            "name": f"Participant Number{number}",
            "email": f"participant{number}@example.org",
            "phone": f"+44 7700 {phone_digits}",
            "preferred_channel": "email",
            "language": "en",
            "format": "standard",
            "consent_to_contact": True,
        },
    }


def contribution_template(engagement_id: str) -> str:
    """The body as JSON with the placeholders the load generators fill per request."""
    return json.dumps(contribution_body(engagement_id, NUMBER, PHONE_DIGITS), separators=(",", ":"))


def fill(template: str, number: int) -> str:
    return template.replace(NUMBER, str(number)).replace(PHONE_DIGITS, f"{number % 1_000_000:06d}")


def submission_events(tenant: str, engagement_id: str, count: int) -> list[tuple[bytes, bytes]]:
    """`count` contribution.submitted CloudEvents as (key, value) on intake.submissions."""
    from shared import events
    from shared.constants import CONTRIBUTION_SUBMITTED

    made = []
    for number in range(1, count + 1):
        data = contribution_body(engagement_id, number, f"{number % 1_000_000:06d}", TEXTS[number % len(TEXTS)])
        envelope = events.make(
            type=CONTRIBUTION_SUBMITTED,
            source=CASE_SYSTEM_SOURCE,
            tenant=tenant,
            data=data,
            subject=data["participant"]["external_ref"],
            id=str(uuid.uuid4()),
        )
        made.append((data["participant"]["external_ref"].encode(), events.dumps(envelope)))
    return made
