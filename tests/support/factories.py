"""Request bodies and events as a council would send them; override what a test is about."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from shared import events
from shared.constants import CONTRIBUTION_SUBMITTED

_counter = itertools.count(1)


def engagement_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "title": f"Day services review {n}",
        "service_area": "Adult social care",
        "description": "How should our day centres change next year?",
        "can_change": ["opening hours", "activities offered"],
        "cannot_change": ["the total budget", "closing the Elm Road site"],
        "decision_maker": "Adult Social Care Partnership Board",
        "feedback_due": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
    }
    payload.update(overrides)
    return payload


def participant_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "name": f"Participant Number{n}",
        "email": f"participant{n}@example.org",
        "phone": f"+44 7700 900{n % 1000:03d}",
        "preferred_channel": "email",
        "language": "en",
        "format": "standard",
        "consent_to_contact": True,
    }
    payload.update(overrides)
    return payload


def contribution_payload(engagement_id: str, **overrides) -> dict:
    payload = {
        "engagement_id": engagement_id,
        "type": "view",
        "text": "Please open the centre on Saturdays; my mum is alone all weekend.",
        "channel": "case_system",
        "participant": participant_payload(),
    }
    payload.update(overrides)
    return payload


def submission_event(tenant: str, data: dict, **overrides) -> dict:
    """A `contribution.submitted` CloudEvent as a council case system publishes it."""
    envelope = events.make(
        type=CONTRIBUTION_SUBMITTED,
        source="https://case-system.example.gov.uk/adults",
        tenant=tenant,
        data=data,
        id=str(uuid.uuid4()),
    )
    envelope.update(overrides)
    return envelope


# Decisions ----------------------------------------------------------------------------


def board_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "name": f"Adult Social Care Partnership Board {n}",
        "remit": "Day services, respite and carers' support in the county; not the NHS budget.",
    }
    payload.update(overrides)
    return payload


def decision_payload(board_id: str, **overrides) -> dict:
    """A decision that needs nothing else (partly adopted, with its rationale); no links."""
    n = next(_counter)
    payload = {
        "board_id": board_id,
        "title": f"Saturday opening at the day centres {n}",
        "description": "Open the Elm Road and Riverside centres on Saturdays from April.",
        "decided_on": dt.date.today().isoformat(),
        "outcome": "partly_adopted",
        "rationale": "Saturdays yes, Sundays not yet: the staff are not there for both.",
    }
    payload.update(overrides)
    return payload


def resource_change_payload(**overrides) -> dict:
    payload = {
        "kind": "staffing",
        "description": "Two more support workers on Saturdays.",
        "amount": "48000.00",
        "currency": "GBP",
        "effective_from": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    }
    payload.update(overrides)
    return payload


def link_payload(contribution_id: str, **overrides) -> dict:
    payload = {
        "contribution_id": contribution_id,
        "influence": "Told us weekends are the loneliest time; this is why Saturdays come first.",
    }
    payload.update(overrides)
    return payload
