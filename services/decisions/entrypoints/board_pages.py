"""The board's pages, for members who do not use the API: record a decision, follow it up.

Signed in with a board or staff key (shared/http/pages.py). Recording a decision is one form
that works without JavaScript: its buttons search for contributions, pick some, add
resource changes or record, and everything typed so far travels in the form itself, so
nothing is kept on the server between steps. Recording loads the same schema and calls
the same use case as `POST /v1/decisions`, so the rules, the messages and the events sent
are the API's; each message is shown beside its field, linked from the error summary.

Contributions' words are sealed at rest: they are opened here only for a signed-in member
of the same council, and searched after opening, over one engagement's contributions.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, g, redirect, request
from marshmallow import ValidationError

from services.decisions.entrypoints.copy import COPY
from services.decisions.entrypoints.public_pages import render_page
from services.decisions.entrypoints.schemas import DecisionSchema, ResourceChangeMoveSchema
from services.decisions.service_layer import services, views
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, Pages, language, sign_in_blueprint, signed_in
from shared.http.web import platform, reads
from shared.infra.audit import handles_personal_data
from shared.messaging.events import flatten_errors, unstorable_text
from shared.rules.constants import (
    CONTRIBUTION_TYPES,
    OUTCOMES,
    RESOURCE_KINDS,
    RESOURCE_STATUSES,
    ROLE_BOARD,
    ROLE_STAFF,
    SCOPE_LIMIT_KINDS,
)
from shared.rules.domain import UK, InvalidInput, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
HOME = "/board"
DECISION_FIELDS = (
    "board_id",
    "engagement_id",
    "title",
    "description",
    "decided_on",
    "outcome",
    "rationale",
    "revisit_on",
    "scope_limit_kind",
    "scope_limit",
)
CHANGE_FIELDS = ("kind", "description", "amount", "currency", "effective_from")
MOVE_FIELDS = ("status", "progress_percent", "note")
CHANGES_MAX = 20  # "add another" stops here; the API takes more in one request
RECENT_DECISIONS = 50
UNSTORABLE = "The body holds a NUL character or an unpaired surrogate, which cannot be stored."
INDEXED = re.compile(r"(links|resource_changes)-(\d+)-(\w+)")

decision_schema = DecisionSchema()
move_schema = ResourceChangeMoveSchema()


def field_id(path: str) -> str:
    """The input id for a marshmallow field path: `links[0].influence` -> `links-0-influence`."""
    if path == "_schema":
        return "decision-form"
    return re.sub(r"[\[\].]+", "-", path).strip("-")


def _filled(values: dict) -> dict:
    """What a form gives, as an API client would send it: a blank field is a missing one."""
    return {name: value for name, value in values.items() if value.strip()}


def _indexed(form, prefix: str, names: tuple[str, ...]) -> list[dict]:
    """`links-0-influence`, `links-1-...` from the form, as a list in index order."""
    rows: dict[int, dict] = {}
    for key, value in form.items():
        match = INDEXED.fullmatch(key)
        if match and match[1] == prefix and match[3] in names:
            rows.setdefault(int(match[2]), {})[match[3]] = value
    return [{name: rows[i].get(name, "") for name in names} for i in sorted(rows)]


def _integer_or_text(value: str):
    """A number typed in a form, as JSON would carry it; anything else as typed, to be refused."""
    return int(value) if re.fullmatch(r"-?\d{1,9}", value.strip()) else value


class Draft:
    """The decision being written, read back from the form on every step."""

    def __init__(self, form):
        self.fields = {name: form.get(name, "") for name in DECISION_FIELDS}
        self.links = _indexed(form, "links", ("contribution_id", "influence"))
        self.changes = _indexed(form, "resource_changes", CHANGE_FIELDS)
        self.search_type = form.get("search_type", "")
        self.search_words = form.get("search_words", "")

    def pick(self, ids: list[str]) -> None:
        have = {link["contribution_id"] for link in self.links}
        for contribution_id in ids:
            if contribution_id not in have:
                self.links.append({"contribution_id": contribution_id, "influence": ""})
                have.add(contribution_id)

    def payload(self) -> dict:
        """The body `POST /v1/decisions` would get for what is on the form."""
        body = _filled(self.fields)
        if self.links:
            body["links"] = [_filled(link) for link in self.links]
        if self.changes:
            body["resource_changes"] = [_filled(change) for change in self.changes]
        return body


PAGES = Pages(TEMPLATES, COPY)
board = Blueprint("board_pages", __name__)


def _active_key(key_id: str):
    return platform().keys.active(key_id)


def _authenticate(key: str):
    return platform().keys.authenticate(key)


guarded = signed_in(PAGES, _active_key, ROLE_BOARD, ROLE_STAFF)


def board_blueprints() -> list[Blueprint]:
    """The board pages and their sign-in."""
    return [board, sign_in_blueprint(PAGES, _authenticate, HOME)]


def tenant() -> str:
    return g.page_principal.tenant


def actor() -> services.Actor:
    return services.Actor(tenant=g.page_principal.tenant, key_id=g.page_principal.key_id)


def render(template: str, **context):
    return render_page(PAGES, template, **context)


def with_lang(path: str, **query) -> str:
    query = {**query, "lang": request.args.get("lang")}
    encoded = urlencode({k: v for k, v in query.items() if v})
    return f"{path}?{encoded}" if encoded else path


def problems(errors: dict[str, list[str]], labels: dict[str, str]) -> list[tuple[str, str]]:
    """(input id, message) in the form's order, each message the API's own words."""
    found = [
        (field_id(path), f"{labels.get(field_id(path), '')}{' '.join(messages)}") for path, messages in errors.items()
    ]
    order = {name: index for index, name in enumerate(labels)}
    return sorted(found, key=lambda item: order.get(item[0], len(order)))


# The board's decisions ---------------------------------------------------------------


@board.get("/board")
@documented(responses={200: HTML_PAGE}, page=True)
@guarded
def home():
    boards = services.list_boards(reads(), tenant())
    chosen = request.args.get("board_id") or None
    decisions, total = services.list_decisions(
        reads(), tenant(), board_id=chosen, engagement_id=None, page=1, per_page=RECENT_DECISIONS
    )
    return render(
        "board_home.html.j2",
        boards=boards,
        board_names={b.id: b.name for b in boards},
        chosen=chosen,
        decisions=decisions,
        total=total,
    )


@board.get("/board/decisions/<decision_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@guarded
@handles_personal_data
def decision_page(decision_id: str):
    try:
        decision, links, changes, _versions = services.get_decision(reads(), tenant(), decision_id)
    except NotFound:
        return PAGES.not_found()
    contributions = views.contributions_for_display(reads(), tenant(), [link.contribution_id for link in links])
    return render(
        "board_decision.html.j2",
        decision=decision,
        board_name=services.get_board(reads(), tenant(), decision.board_id).name,
        links=links,
        contributions=contributions,
        changes=changes,
        recorded=request.args.get("recorded") == "1",
        moved=request.args.get("moved") == "1",
    )


@board.get("/board/contributions/<contribution_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@guarded
@handles_personal_data
def outcome_chain(contribution_id: str):
    today = platform().clock().astimezone(UK).date()
    try:
        chain = views.outcome_chain(reads(), tenant(), contribution_id, today=today)
    except NotFound:
        return PAGES.not_found()
    return render("board_chain.html.j2", chain=chain)


# Recording a decision ----------------------------------------------------------------


def decision_form(draft: Draft, *, errors: dict | None = None, results=None, more=False, status: int = 200):
    picked = views.contributions_for_display(reads(), tenant(), [link["contribution_id"] for link in draft.links])
    labels = decision_labels(draft, picked)
    lang = language()

    def named(values: tuple[str, ...], prefix: str) -> list[tuple[str, str]]:
        return [(value, PAGES.text(lang, f"{prefix}.{value}")) for value in values]

    options = {
        "engagement": [(e["id"], e["title"]) for e in views.engagements_to_choose(reads(), tenant())],
        "board": [(b.id, b.name) for b in services.list_boards(reads(), tenant())],
        "type": named(CONTRIBUTION_TYPES, "public.type"),
        "outcome": named(OUTCOMES, "public.outcome"),
        "scope": named(SCOPE_LIMIT_KINDS, "board.scope"),
        "kind": named(RESOURCE_KINDS, "public.kind"),
    }
    return render(
        "board_new_decision.html.j2",
        status=status,
        draft=draft,
        picked=picked,
        options=options,
        results=results,
        more=more,
        problems=problems(errors or {}, labels),
        errors={field_id(path): " ".join(messages) for path, messages in (errors or {}).items()},
        changes_max=CHANGES_MAX,
    )


def decision_labels(draft: Draft, picked: dict) -> dict[str, str]:
    """Each input's name for the error summary ("Title: "), in the form's order."""
    lang = language()
    text = PAGES.text
    labels = {"decision-form": ""}
    labels.update({name: text(lang, f"board.field.{name}") + ": " for name in DECISION_FIELDS})
    labels["links"] = text(lang, "board.links.heading") + ": "
    for index, link in enumerate(draft.links):
        reference = picked.get(link["contribution_id"], {}).get("reference", link["contribution_id"])
        labels[f"links-{index}-contribution_id"] = reference + ": "
        labels[f"links-{index}-influence"] = text(lang, "board.links.influence_named", reference=reference) + ": "
    labels["resource_changes"] = text(lang, "board.changes.heading") + ": "
    for index, _ in enumerate(draft.changes):
        for name in CHANGE_FIELDS:
            labels[f"resource_changes-{index}-{name}"] = (
                text(lang, "board.changes.item", number=index + 1) + ", " + text(lang, f"board.change.{name}") + ": "
            )
    return labels


def search(draft: Draft) -> tuple[dict | None, list | None, bool]:
    """(errors, results, more) for the search fields on the form."""
    engagement_id = draft.fields["engagement_id"]
    if not engagement_id:
        return {"engagement_id": [PAGES.text(language(), "board.error.choose_engagement")]}, None, False
    type_ = draft.search_type if draft.search_type in CONTRIBUTION_TYPES else None
    results, more = views.search_contributions(
        reads(), tenant(), engagement_id=engagement_id, type_=type_, words=draft.search_words
    )
    return None, results, more


@board.get("/board/decisions/new")
@documented(responses={200: HTML_PAGE}, page=True)
@guarded
@handles_personal_data
def new_decision():
    draft = Draft(
        {
            "engagement_id": request.args.get("engagement_id", ""),
            "search_type": request.args.get("type", ""),
            "search_words": request.args.get("q", ""),
        }
    )
    if not draft.fields["engagement_id"]:
        return decision_form(draft)
    errors, results, more = search(draft)
    return decision_form(draft, errors=errors, results=results, more=more)


@board.post("/board/decisions/new")
@documented(responses={200: HTML_PAGE, 303: None}, errors=(400,), page=True)
@guarded
@handles_personal_data
def write_decision():
    draft = Draft(request.form)
    action = request.form.get("action", "")
    if action == "search":
        errors, results, more = search(draft)
        return decision_form(draft, errors=errors, results=results, more=more, status=422 if errors else 200)
    if action == "pick":
        ticked = request.form.getlist("pick")
        draft.pick([cid for cid in ticked if cid in views.contributions_for_display(reads(), tenant(), ticked)])
    elif action.startswith("remove-link-"):
        index = _position(action, len(draft.links))
        if index is not None:
            del draft.links[index]
    elif action == "add-change" and len(draft.changes) < CHANGES_MAX:
        draft.changes.append(dict.fromkeys(CHANGE_FIELDS, ""))
    elif action.startswith("remove-change-"):
        index = _position(action, len(draft.changes))
        if index is not None:
            del draft.changes[index]
    elif action == "record":
        return record(draft)
    return decision_form(draft)


def record(draft: Draft):
    picked = views.contributions_for_display(reads(), tenant(), [link["contribution_id"] for link in draft.links])
    unknown = {
        f"links[{index}].contribution_id": ["No contribution with that id."]
        for index, link in enumerate(draft.links)
        if link["contribution_id"] not in picked
    }
    if unknown:
        return decision_form(draft, errors=unknown, status=422)
    payload = draft.payload()
    if unstorable_text(payload):
        return decision_form(draft, errors={"_schema": [UNSTORABLE]}, status=422)
    p = platform()
    try:
        data = decision_schema.load(payload)
        decision, _links, _changes = services.record_decision(p.uow(), actor(), data, now=p.clock(), source=p.source)
    except ValidationError as invalid:
        return decision_form(draft, errors=flatten_errors(invalid.messages), status=422)
    except InvalidInput as invalid:
        return decision_form(draft, errors=invalid.errors, status=422)
    return redirect(with_lang(f"/board/decisions/{decision.id}", recorded="1"), 303)


# Moving a resource change along ----------------------------------------------------


def change_form(change, *, values: dict | None = None, errors: dict | None = None, status: int = 200):
    lang = language()
    labels = {name: PAGES.text(lang, f"board.move.{name}") + ": " for name in MOVE_FIELDS}
    return render(
        "board_resource_change.html.j2",
        status=status,
        change=change,
        status_options_list=[(status, PAGES.text(lang, f"public.status.{status}")) for status in RESOURCE_STATUSES],
        uk=UK,
        values=values or {},
        problems=problems(errors or {}, labels),
        errors={field_id(path): " ".join(messages) for path, messages in (errors or {}).items()},
    )


@board.get("/board/resource-changes/<change_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@guarded
@handles_personal_data
def resource_change(change_id: str):
    try:
        change = services.get_resource_change(reads(), tenant(), change_id)
    except NotFound:
        return PAGES.not_found()
    return change_form(change)


@board.post("/board/resource-changes/<change_id>")
@documented(responses={200: HTML_PAGE, 303: None}, errors=(400,), page=True)
@guarded
def move_resource_change(change_id: str):
    try:
        change = services.get_resource_change(reads(), tenant(), change_id)
    except NotFound:
        return PAGES.not_found()
    values = {name: request.form.get(name, "") for name in MOVE_FIELDS}
    payload = _filled(values)
    if "progress_percent" in payload:
        payload["progress_percent"] = _integer_or_text(payload["progress_percent"])
    if unstorable_text(payload):
        return change_form(change, values=values, errors={"note": [UNSTORABLE]}, status=422)
    p = platform()
    try:
        data = move_schema.load(payload)
        services.move_resource_change(p.uow(), actor(), change_id, **data, now=p.clock(), source=p.source)
    except ValidationError as invalid:
        return change_form(change, values=values, errors=flatten_errors(invalid.messages), status=422)
    except InvalidInput as invalid:
        return change_form(change, values=values, errors=invalid.errors, status=422)
    return redirect(with_lang(f"/board/decisions/{change.decision_id}", moved="1"), 303)


def _position(action: str, length: int) -> int | None:
    """The index a remove-… button names, if it names one on the form."""
    tail = action.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() and int(tail) < length else None
