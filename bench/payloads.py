"""Request bodies and events as a council's case system sends them.

The HTTP body is a template: the load generator puts a request number where `@@N@@`
stands and its last three digits where `@@P@@` stands, so every request registers its own
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
            # Ofcom's drama range (07700 900000-900999): a valid mobile that reaches no one.
            "phone": f"+44 7700 900{phone_digits}",
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
    return template.replace(NUMBER, str(number)).replace(PHONE_DIGITS, f"{number % 1000:03d}")


def submission_events(tenant: str, engagement_id: str, count: int) -> list[tuple[bytes, bytes]]:
    """`count` contribution.submitted CloudEvents as (key, value) on intake.submissions."""
    from shared.messaging import events
    from shared.rules.constants import CONTRIBUTION_SUBMITTED

    made = []
    for number in range(1, count + 1):
        data = contribution_body(engagement_id, number, f"{number % 1000:03d}", TEXTS[number % len(TEXTS)])
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


# What the notifier consumes, as the other services publish it ----------------------------

INTAKE_SOURCE = "urn:outcome-chain:intake"
DECISIONS_SOURCE = "urn:outcome-chain:decisions"
DECISION_TEXT = {
    "title": "Saturday opening at the day centres",
    "description": "The board considered every view given about weekend opening and the costed options "
    "officers set out.",
    "outcome": "partly_adopted",
    "rationale": "We will open on Saturday mornings for a six-month pilot; Sunday opening is not affordable "
    "this year and will be looked at again with the next budget.",
}
INFLUENCE = "Asked for Saturday opening: one of the reasons for the pilot."
RESOURCE_CHANGE = {
    "kind": "service",
    "description": "Saturday morning sessions at the three day centres, 9:30 to 12:30, for a six-month pilot.",
}


def decision_body(board_id: str, engagement_id: str | None, contribution_ids: list[str], title: str) -> dict:
    """A POST /v1/decisions body: the board's outcome and reason, one resource change, and
    a link `{contribution_id, influence}` per contribution."""
    return {
        "board_id": board_id,
        **({"engagement_id": engagement_id} if engagement_id else {}),
        **DECISION_TEXT,
        "title": title,
        "decided_on": dt.date.today().isoformat(),
        "links": [{"contribution_id": c, "influence": INFLUENCE} for c in contribution_ids],
        "resource_changes": [RESOURCE_CHANGE],
    }


class NotifierInputs:
    """`count` participants, one engagement, a contribution per participant and one decision
    linking them all, as the events intake and decisions publish (the shapes of
    shared/messaging/event_schemas.py and of services/decisions/service_layer/services.py
    `_announce_link`), each a (key, CloudEvent bytes) pair keyed by its aggregate's id.

    Contact details are sealed with `sealer`, which must hold the DATA_ENCRYPTION_KEYS the
    notifier runs with; each participant wants email, in English, standard format, and
    has consented to contact. `marker` makes the references unique to one run."""

    def __init__(self, tenant: str, sealer, count: int, *, marker: str = "NB"):
        self.tenant, self.sealer, self.count = tenant, sealer, count
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.engagement_id = str(uuid.uuid4())
        self.decision_id = str(uuid.uuid4())
        self.board_id = str(uuid.uuid4())
        self.change_id = str(uuid.uuid4())
        self.participant_ids = [str(uuid.uuid4()) for _ in range(count)]
        self.contribution_ids = [str(uuid.uuid4()) for _ in range(count)]
        self.references = [f"{tenant.upper()}-{marker}-{number:06d}" for number in range(1, count + 1)]

    def _event(self, type_: str, source: str, subject: str, data: dict) -> tuple[bytes, bytes]:
        from shared.messaging import events

        envelope = events.make(type=type_, source=source, tenant=self.tenant, subject=subject, data=data, time=self.now)
        return subject.encode(), events.dumps(envelope)

    def participants(self) -> list[tuple[bytes, bytes]]:
        from shared.rules.constants import PARTICIPANT_REGISTERED

        made = []
        for number, participant_id in enumerate(self.participant_ids, 1):
            person = contribution_body(self.engagement_id, number, f"{number % 1000:03d}")["participant"]
            contact = {k: person[k] for k in ("name", "email", "phone", "external_ref")}
            data = {
                "id": participant_id,
                **{k: person[k] for k in ("preferred_channel", "language", "format")},
                "consent_to_contact": person["consent_to_contact"],
                "sealed_contact": self.sealer.seal(contact),
            }
            made.append(self._event(PARTICIPANT_REGISTERED, INTAKE_SOURCE, participant_id, data))
        return made

    def engagement(self) -> list[tuple[bytes, bytes]]:
        from shared.rules.constants import ENGAGEMENT_CREATED

        data = {"id": self.engagement_id, **engagement_body(), "created_at": self.now.isoformat()}
        return [self._event(ENGAGEMENT_CREATED, INTAKE_SOURCE, self.engagement_id, data)]

    def contributions(self) -> list[tuple[bytes, bytes]]:
        from shared.rules.constants import CONTRIBUTION_RECEIVED

        made = []
        for number, (contribution_id, participant_id) in enumerate(
            zip(self.contribution_ids, self.participant_ids, strict=True)
        ):
            data = {
                "id": contribution_id,
                "reference": self.references[number],
                "engagement_id": self.engagement_id,
                "participant_id": participant_id,
                "type": "view",
                "on_behalf_of": 1,
                "channel": "case_system",
                "submitted_at": (self.now - dt.timedelta(minutes=5)).isoformat(),
                "received_at": self.now.isoformat(),
                "sealed_text": self.sealer.seal(TEXTS[number % len(TEXTS)]),
                "status": "received",
            }
            made.append(self._event(CONTRIBUTION_RECEIVED, INTAKE_SOURCE, contribution_id, data))
        return made

    def links(self) -> list[tuple[bytes, bytes]]:
        """One `contribution.linked` per contribution, all of one decision (its version 1)."""
        from shared.rules.constants import CONTRIBUTION_LINKED

        decision = {
            "decision_id": self.decision_id,
            "board_id": self.board_id,
            "version": 1,
            **DECISION_TEXT,
            "decided_on": self.now.date().isoformat(),
            "scope_limit_kind": None,
            "scope_limit": None,
            "revisit_on": None,
        }
        changes = [{"resource_change_id": self.change_id, **RESOURCE_CHANGE, "status": "planned"}]
        made = []
        for number, (contribution_id, participant_id) in enumerate(
            zip(self.contribution_ids, self.participant_ids, strict=True)
        ):
            data = {
                "link_id": str(uuid.uuid4()),
                "contribution_id": contribution_id,
                "participant_id": participant_id,
                "reference": self.references[number],
                "engagement_id": self.engagement_id,
                "sealed_influence": self.sealer.seal(INFLUENCE),
                **decision,
                "resource_changes": changes,
            }
            made.append(self._event(CONTRIBUTION_LINKED, DECISIONS_SOURCE, contribution_id, data))
        return made
