"""The workspace's forms as the API's request bodies, and the API's errors as the form's.

A form sends text; the API's schema wants lists, numbers and booleans. These turn one
into the other and nothing more: every rule and every message stays the schema's and the
service layer's, so a page and the API can never disagree about what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping

ENGAGEMENT_FIELDS = (
    "title",
    "service_area",
    "description",
    "can_change",
    "cannot_change",
    "decision_maker",
    "feedback_due",
    "languages",
)
LIST_FIELDS = ("can_change", "cannot_change")  # one item a line in the form
OFFERED_LANGUAGES = ("en", "cy")  # the languages the form offers as checkboxes
CONTRIBUTION_FIELDS = ("engagement_id", "channel", "type", "text", "on_behalf_of")
PARTICIPANT_FIELDS = ("name", "email", "phone", "preferred_channel", "consent_to_contact", "language", "format")
# What the person said yes or no to, as a radio button sends it.
ANSWERS = {"yes": True, "no": False}


def values_of(form: Mapping[str, str], names: tuple[str, ...]) -> dict:
    """The form's fields as typed, for showing them again (languages: the boxes ticked)."""
    values = {name: form.get(name, "") for name in names}
    if "languages" in names:
        values["languages"] = form.getlist("languages") if hasattr(form, "getlist") else form.get("languages", [])
    return values


def engagement_form(engagement) -> dict:
    """An engagement as its edit form shows it."""
    values = {name: getattr(engagement, name) for name in ENGAGEMENT_FIELDS}
    values.update({name: "\n".join(values[name]) for name in LIST_FIELDS})
    values["feedback_due"] = engagement.feedback_due.isoformat()
    return values


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def engagement_body(form: Mapping[str, str]) -> dict:
    """An engagement as POST /v1/engagements takes it; fields left empty are left out."""
    body: dict = {"languages": form.getlist("languages") if hasattr(form, "getlist") else []}
    for name in ENGAGEMENT_FIELDS:
        if name == "languages":
            continue
        value = form.get(name, "").strip()
        if name in LIST_FIELDS:
            body[name] = _lines(value)
        elif value:
            body[name] = value
    return body


def contribution_body(form: Mapping[str, str]) -> dict:
    """A contribution with its participant, as POST /v1/contributions takes it."""
    body: dict = {}
    for name in CONTRIBUTION_FIELDS:
        value = form.get(name, "").strip()
        if value:
            body[name] = int(value) if name == "on_behalf_of" and value.isdigit() else value
    participant: dict = {}
    for name in PARTICIPANT_FIELDS:
        value = form.get(name, "").strip()
        if value:
            participant[name] = ANSWERS.get(value, value) if name == "consent_to_contact" else value
    body["participant"] = participant
    return body


def field_of(path: str) -> str:
    """The form field an API error names: participant.email -> email, can_change[2] -> can_change."""
    name = path.removeprefix("participant.").split("[", 1)[0]
    return "engagement_id" if name == "_schema" else name


def problems(errors: Mapping[str, list[str]], order: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(form field, the API's messages) in the form's order, one entry per field."""
    found: dict[str, list[str]] = {}
    for path, messages in errors.items():
        found.setdefault(field_of(path), []).extend(messages)
    rank = {name: index for index, name in enumerate(order)}
    return sorted(found.items(), key=lambda item: rank.get(item[0], len(rank)))
