"""Request bodies and events as a council would send them; override what a test is about."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import uuid

from shared.messaging import events
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    ENGAGEMENT_CREATED,
    NOTIFICATION_DELIVERED,
    OUTCOME_RATED,
    PARTICIPANT_ERASED,
    RESOURCE_CHANGED,
)
from tests.support.clock import uk_today

_counter = itertools.count(1)

# The case system a council's test events come from; tests/support/api.create_tenant registers it,
# as a council onboarding its case system does (`outcomes sources add`).
CASE_SYSTEM_SOURCE = "https://case-system.example.gov.uk/adults"


def engagement_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "title": f"Day services review {n}",
        "service_area": "Adult social care",
        "description": "How should our day centres change next year?",
        "can_change": ["opening hours", "activities offered"],
        "cannot_change": ["the total budget", "closing the Elm Road site"],
        "decision_maker": "Adult Social Care Partnership Board",
        "feedback_due": (uk_today() + dt.timedelta(days=60)).isoformat(),
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


def postal_address(**overrides) -> dict:
    """A participant's postal address as the API takes it (`address_lines`, `postcode`)."""
    n = next(_counter)
    address = {"address_lines": [f"{n % 200 + 1} Heol y Frenhines", "Caerdydd"], "postcode": "CF10 1BH"}
    address.update(overrides)
    return address


def distinctive_participant(**overrides) -> dict:
    """A participant whose details nothing else in a run resembles, for tests that search
    everything for them: the email in mixed case, the phone in UK national format."""
    n = next(_counter)
    return participant_payload(
        name=f"Philippa Quennell-Ashdown{n:05d}",
        email=f"Philippa.Quennell{n:05d}@Example-Council.org.uk",
        phone=f"07700 900{n % 1000:03d}",
        **overrides,
    )


def equality_answers(**overrides) -> dict:
    """Voluntary equality-monitoring answers, as `participant.equality`."""
    answers = {"age_band": "65-74", "carer": "Cares for a disabled partner", "religion_or_belief": "Quaker"}
    answers.update(overrides)
    return answers


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


def paper_row(**overrides) -> dict:
    """One row of a CSV of contributions gathered on paper, as staff type it in."""
    n = next(_counter)
    row = {
        "name": f"Paper Participant{n}",
        "email": f"paper{n}@example.org",
        "phone": "",
        "external_ref": "",
        "preferred_channel": "email",
        "consent_to_contact": "yes",
        "language": "en",
        "format": "standard",
        "type": "view",
        "text": f"Form {n}: the minibus comes too early for me to be ready.",
        "on_behalf_of": "1",
        "submitted_at": (uk_today() - dt.timedelta(days=7)).isoformat(),
    }
    row.update(overrides)
    return row


def contributions_csv(rows: list[dict]) -> bytes:
    """A CSV file of the rows, header first, with every column any row has."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(name for row in rows for name in row)))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def submission_event(tenant: str, data: dict, **overrides) -> dict:
    """A `contribution.submitted` CloudEvent as a council case system publishes it."""
    envelope = events.make(
        type=CONTRIBUTION_SUBMITTED,
        source=CASE_SYSTEM_SOURCE,
        tenant=tenant,
        data=data,
        id=str(uuid.uuid4()),
    )
    envelope.update(overrides)
    return envelope


def participant_erased_event(tenant: str, participant_id: str) -> dict:
    """`participant.erased` as intake announces it: the id and when, nothing else."""
    now = dt.datetime.now(dt.UTC)
    return events.make(
        type=PARTICIPANT_ERASED,
        source="urn:outcome-chain:intake",
        tenant=tenant,
        subject=participant_id,
        time=now,
        data={"id": participant_id, "erased_at": now.isoformat()},
    )


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
        "decided_on": uk_today().isoformat(),
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
        "effective_from": (uk_today() + dt.timedelta(days=30)).isoformat(),
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


def amendment_payload(**overrides) -> dict:
    payload = {"reason": "Corrected after the minutes were agreed.", "title": "Saturday opening, corrected"}
    payload.update(overrides)
    return payload


def unlink_payload(**overrides) -> dict:
    payload = {"reason": "Linked to the wrong decision by mistake."}
    payload.update(overrides)
    return payload


def resource_move_payload(**overrides) -> dict:
    payload = {"status": "in_progress", "note": "Recruitment has started.", "progress_percent": 20}
    payload.update(overrides)
    return payload


def preferences_payload(**overrides) -> dict:
    payload = {"preferred_channel": "email", "language": "cy", "format": "large_print", "consent_to_contact": True}
    payload.update(overrides)
    return payload


def rating_form(**overrides) -> dict:
    """The status page's "Did this make a difference?" form, as a browser posts it."""
    form = {"rating": "partly", "comment": "The Saturday club helps, but the bus still comes too early."}
    form.update(overrides)
    return form


def board_decision_form(board_id: str, links: list[dict] = (), changes: list[dict] = (), **overrides) -> dict:
    """The board page's "record a decision" form as a browser posts it: `decision_payload`'s
    fields, then `links-0-contribution_id`, `resource_changes-0-kind` and so on."""
    form = {"action": "record", **decision_payload(board_id), **overrides}
    for index, item in enumerate(links):
        form.update({f"links-{index}-{name}": value for name, value in item.items()})
    for index, item in enumerate(changes):
        form.update({f"resource_changes-{index}-{name}": value for name, value in item.items()})
    return form


def engagement_created_event(tenant: str, **overrides) -> dict:
    """An `engagement.created` CloudEvent as intake announces it, for a new engagement."""
    engagement_id = str(uuid.uuid4())
    data = {
        "id": engagement_id,
        "languages": ["en"],
        **engagement_payload(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "closed_at": None,
    }
    data.update(overrides)
    return events.make(
        type=ENGAGEMENT_CREATED, source="urn:outcome-chain:intake", tenant=tenant, subject=data["id"], data=data
    )


# The internal events intake applies (to its outcome read model), which a forger might
# publish on the case systems' topic: intake must refuse every one there.
FORGEABLE_OUTCOME_TYPES = [
    OUTCOME_RATED,
    CONTRIBUTION_LINKED,
    RESOURCE_CHANGED,
    DECISION_AMENDED,
    CONTRIBUTION_UNLINKED,
    CONTRIBUTION_FEEDBACK_OVERDUE,
    NOTIFICATION_DELIVERED,
]


def outcome_event(type_: str, tenant: str, contribution_id: str, *, source: str | None = None, **data) -> dict:
    """An event about what became of a contribution, its `data` valid for its type, as the
    service that announces it would (decisions, or the notifier for notification.*); a test
    of forgery sends it where, or as whom, it does not belong."""
    at = dt.datetime.now(dt.UTC)
    now = at.isoformat()
    decision_id = str(uuid.uuid4())
    story = {"contribution_id": contribution_id, "decision_id": decision_id, "version": 1, "outcome": "not_adopted"}
    shapes = {
        CONTRIBUTION_LINKED: {**story, "link_id": str(uuid.uuid4()), "resource_changes": []},
        CONTRIBUTION_UNLINKED: {**story, "link_id": str(uuid.uuid4())},
        DECISION_AMENDED: story,
        RESOURCE_CHANGED: {**story, "resource_change_id": str(uuid.uuid4()), "status": "cancelled", "changed_at": now},
        CONTRIBUTION_FEEDBACK_OVERDUE: {"contribution_id": contribution_id},
        OUTCOME_RATED: {"contribution_id": contribution_id, "rating": "no", "rated_at": now, "channel": "web"},
        NOTIFICATION_DELIVERED: {
            "notification_id": str(uuid.uuid4()),
            "contribution_id": contribution_id,
            "kind": "decision_linked",
            "channel": "email",
            "status": "delivered",
            "status_at": now,
        },
    }
    publisher = "urn:outcome-chain:notifier" if type_ == NOTIFICATION_DELIVERED else "urn:outcome-chain:decisions"
    return events.make(
        type=type_,
        source=source or publisher,
        tenant=tenant,
        subject=contribution_id,
        time=at,
        data={**shapes[type_], **data},
    )


def source_payload(**overrides) -> dict:
    """A case system's CloudEvents source, as a council's admin registers it."""
    payload = {"source": f"https://case-system.example.gov.uk/service-{next(_counter)}"}
    payload.update(overrides)
    return payload


def key_payload(**overrides) -> dict:
    payload = {"role": "case-system", "label": "Adults case system (Mosaic)"}
    payload.update(overrides)
    return payload


# Audit log ----------------------------------------------------------------------------


def audit_row(**overrides) -> dict:
    """An `audit_log` row as the web layer writes it for a staff change."""
    row = {
        "at": dt.datetime.now(dt.UTC),
        "tenant": "wiltshire",
        "key_id": "0123456789abcdef",
        "role": "staff",
        "action": "create",
        "method": "POST",
        "route": "/v1/boards",
        "resource_ids": "{}",
        "status": 201,
        "personal_data": False,
    }
    row.update(overrides)
    return row
