"""The staff workspace: engagements, contributions recorded on someone's behalf, finding
contributions and following their chain, importing a CSV file, and dead letters.

Thin views: the form is turned into the API's request body (workspace_forms.py), loaded
with the API's own schema, and handed to the same use case the API calls; their errors
come back in the GOV.UK error-summary pattern with the API's own messages. Staff sign in
as they do for the dashboard (shared/http/pages.py), and every action is audited like theirs.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, Response, g, redirect, request
from marshmallow import ValidationError

from services.intake.adapters.workspace import ContributionFilter
from services.intake.entrypoints import csv_import
from services.intake.entrypoints import workspace_forms as forms
from services.intake.entrypoints.copy import COPY
from services.intake.entrypoints.schemas import ContributionSchema, EngagementSchema
from services.intake.service_layer import services
from services.intake.service_layer import workspace as use_cases
from shared.http.i18n import long_date
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, Pages, signed_in
from shared.http.schemas import PageSchema
from shared.http.web import allows_bulk_body, platform, reads
from shared.infra.audit import audits_as, handles_personal_data
from shared.messaging import dead_letters
from shared.messaging.events import flatten_errors, unstorable_text
from shared.rules.constants import (
    AUDIT_UPDATE,
    BULK_MAX_BODY_BYTES,
    CONTACT_CHANNELS,
    CONTRIBUTION_CHANNELS,
    CONTRIBUTION_STATUSES,
    CONTRIBUTION_TYPES,
    DEAD_LETTER_OPEN,
    DEAD_LETTER_REPLAYED,
    MESSAGE_FORMATS,
    ROLE_STAFF,
    WORKSPACE_CHANNELS,
)
from shared.rules.domain import UK, Conflict, InvalidInput, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
HOME = "/workspace"
PER_PAGE = 25
CSV_FILE = {"text/csv": {"type": "string", "description": "The header row of an import file."}}
IMPORT_MAX_BYTES = BULK_MAX_BODY_BYTES - 64 * 1024  # the file, and room for the form around it
SEARCH_FIELDS = ("engagement_id", "status", "type", "channel", "language", "overdue")
ENGAGEMENT_ORDER = forms.ENGAGEMENT_FIELDS
CONTRIBUTION_ORDER = (*forms.CONTRIBUTION_FIELDS, *forms.PARTICIPANT_FIELDS)

pages = Pages(TEMPLATES, COPY)
workspace = Blueprint("workspace_pages", __name__)
staff_only = signed_in(pages, lambda key_id: platform().keys.active(key_id), ROLE_STAFF)

_engagement = EngagementSchema()
_contribution = ContributionSchema()
_page = PageSchema()


@workspace.errorhandler(NotFound)
def _not_found(_unknown: NotFound) -> Response:
    """Another council's id, or none: the same page either way."""
    return pages.not_found()


def _tenant() -> str:
    return g.page_principal.tenant


def _today():
    return platform().clock().astimezone(UK).date()


def _with_lang(path: str) -> str:
    lang = request.args.get("lang")
    return f"{path}{'&' if '?' in path else '?'}lang={lang}" if lang in ("en", "cy") else path


def _choices(t, prefix: str, values) -> list[tuple[str, str]]:
    """(value, its words in the page's language) for a select or radios."""
    return [(value, t(prefix + value)) for value in values]


def _render(template: str, **context) -> Response:
    problems = context.pop("problems", [])
    board = platform().settings.public_base_url.rstrip("/")  # the board pages are decisions'
    return pages.render(
        template,
        long_date=long_date,
        board=board,
        choices=_choices,
        uk=UK,
        problems=problems,
        errors=dict(problems),
        **context,
    )


def _load(schema, body: dict) -> dict:
    """The body as the API's schema loads it; its messages, field by field, if it will not."""
    if unstorable_text(body):
        raise InvalidInput.on("text", "Holds a character that cannot be stored.")
    try:
        return schema.load(body)
    except ValidationError as invalid:
        raise InvalidInput(flatten_errors(invalid.messages)) from None


# Engagements ---------------------------------------------------------------------------


@workspace.get(HOME)
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def engagements():
    rows = use_cases.engagements_at_a_glance(reads(), _tenant(), today=_today())
    return _render("workspace_engagements.html.j2", rows=rows)


@workspace.get(f"{HOME}/engagements/new")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def new_engagement():
    return _render(
        "workspace_engagement_form.html.j2",
        form={**forms.values_of({}, ENGAGEMENT_ORDER), "languages": ["en"]},
        engagement_id=None,
        languages=forms.OFFERED_LANGUAGES,
    )


@workspace.post(f"{HOME}/engagements/new")
@documented(responses={200: HTML_PAGE, 303: None}, page=True)
@staff_only
def create_engagement():
    p = platform()
    try:
        data = _load(_engagement, forms.engagement_body(request.form))
        engagement = services.create_engagement(p.uow(), _tenant(), data, now=p.clock(), source=p.source)
    except InvalidInput as invalid:
        return _engagement_form_again(invalid)
    return redirect(_with_lang(f"{HOME}/engagements/{engagement.id}"), 303)


def _engagement_form_again(invalid: InvalidInput, engagement_id: str | None = None) -> Response:
    return _render(
        "workspace_engagement_form.html.j2",
        status=400,
        form=forms.values_of(request.form, ENGAGEMENT_ORDER),
        problems=forms.problems(invalid.errors, ENGAGEMENT_ORDER),
        engagement_id=engagement_id,
        languages=forms.OFFERED_LANGUAGES,
    )


@workspace.get(f"{HOME}/engagements/<engagement_id>/edit")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def edit_engagement(engagement_id: str):
    found = services.get_engagement(reads(), _tenant(), engagement_id)
    return _render(
        "workspace_engagement_form.html.j2",
        form=forms.engagement_form(found),
        engagement_id=found.id,
        languages=forms.OFFERED_LANGUAGES,
    )


@workspace.post(f"{HOME}/engagements/<engagement_id>/edit")
@documented(responses={200: HTML_PAGE, 303: None}, page=True)
@staff_only
@audits_as(AUDIT_UPDATE)
def update_engagement(engagement_id: str):
    p = platform()
    try:
        data = _load(_engagement, forms.engagement_body(request.form))
        services.update_engagement(p.uow(), _tenant(), engagement_id, data, now=p.clock(), source=p.source)
    except InvalidInput as invalid:
        return _engagement_form_again(invalid, engagement_id)
    return redirect(_with_lang(f"{HOME}/engagements/{engagement_id}?saved=1"), 303)


@workspace.post(f"{HOME}/engagements/<engagement_id>/close")
@documented(responses={303: None}, page=True)
@staff_only
@audits_as(AUDIT_UPDATE)
def close_engagement(engagement_id: str):
    p = platform()
    services.close_engagement(p.uow(), _tenant(), engagement_id, now=p.clock(), source=p.source)
    return redirect(_with_lang(f"{HOME}/engagements/{engagement_id}?closed=1"), 303)


@workspace.get(f"{HOME}/engagements/<engagement_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def engagement(engagement_id: str):
    found = services.get_engagement(reads(), _tenant(), engagement_id)
    return _render(
        "workspace_engagement.html.j2",
        engagement=found,
        state=use_cases.engagement_state(found, _today()),
        saved=request.args.get("saved") == "1",
        closed=request.args.get("closed") == "1",
    )


# Recording a contribution on someone's behalf -------------------------------------------


def _contribution_form(form, *, status: int = 200, problems=()) -> Response:
    choices = use_cases.filter_choices(reads(), _tenant())
    return _render(
        "workspace_record.html.j2",
        status=status,
        form=forms.values_of(form, CONTRIBUTION_ORDER),
        engagements=choices["engagements"],
        channels=WORKSPACE_CHANNELS,
        types=CONTRIBUTION_TYPES,
        contact_channels=CONTACT_CHANNELS,
        formats=MESSAGE_FORMATS,
        problems=list(problems),
    )


@workspace.get(f"{HOME}/contributions/new")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def new_contribution():
    defaults = {"on_behalf_of": "1", "language": "en", "format": "standard", "channel": "phone", "type": "view"}
    return _contribution_form({**defaults, "engagement_id": request.args.get("engagement_id", "")})


@workspace.post(f"{HOME}/contributions/new")
@documented(responses={200: HTML_PAGE, 303: None}, page=True)
@staff_only
@handles_personal_data
def record_contribution():
    """`check` reads the answers back, `change` goes back to the form, `save` records it."""
    action = request.form.get("action", "check")
    if action == "change":
        return _contribution_form(request.form)
    p = platform()
    try:
        data = _load(_contribution, forms.contribution_body(request.form))
        if action != "save":
            services.check_contribution(p.uow(read_only=True), _tenant(), data, now=p.clock())
            duplicates = use_cases.recorded_today(reads(), _tenant(), data, now=p.clock())
            return _render(
                "workspace_check.html.j2",
                form=forms.values_of(request.form, CONTRIBUTION_ORDER),
                engagement=services.get_engagement(reads(), _tenant(), data["engagement_id"]),
                duplicates=duplicates,
                save_key=secrets.token_urlsafe(16),
            )
        who = g.page_principal
        save_key = request.form.get("save_key", "")[:64]  # pressing Save twice records it once
        contribution, _ = services.submit_contribution(
            p.uow(),
            services.Submitter(tenant=who.tenant, role=who.role, identity=who.key_id),
            data,
            now=p.clock(),
            source=p.source,
            idempotency_key=f"workspace:{save_key}" if save_key else None,
            request_fingerprint=services.fingerprint(data) if save_key else None,
        )
    except InvalidInput as invalid:
        return _contribution_form(request.form, status=400, problems=forms.problems(invalid.errors, CONTRIBUTION_ORDER))
    return redirect(_with_lang(f"{HOME}/contributions/{contribution.id}?recorded=1"), 303)


# Finding contributions and following their chain ------------------------------------------


def _search_filter(args) -> ContributionFilter:
    """The filters as the form sent them; the schema's message for any not in its list."""
    shown = forms.values_of(args, SEARCH_FIELDS)
    allowed = {"status": CONTRIBUTION_STATUSES, "type": CONTRIBUTION_TYPES, "channel": CONTRIBUTION_CHANNELS}
    wrong = [name for name, values in allowed.items() if shown[name] and shown[name] not in values]
    if wrong:
        raise InvalidInput({name: ["Must be one of the choices."] for name in wrong})
    return ContributionFilter(
        tenant=_tenant(),
        today=_today(),
        engagement_id=shown["engagement_id"] or None,
        status=shown["status"] or None,
        type=shown["type"] or None,
        channel=shown["channel"] or None,
        language=shown["language"][:12] or None,
        overdue=shown["overdue"] == "yes",
    )


def _page_number() -> int:
    try:
        return _page.load({"page": request.args.get("page", "1"), "per_page": PER_PAGE})["page"]
    except ValidationError:
        return 1


@workspace.get(f"{HOME}/contributions")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def contributions():
    page = _page_number()
    rows, total, problems = [], 0, []
    try:
        rows, total = use_cases.find_contributions(reads(), _search_filter(request.args), page=page, per_page=PER_PAGE)
    except InvalidInput as invalid:
        problems = forms.problems(invalid.errors, SEARCH_FIELDS)
    except NotFound:  # another council's engagement, or none: as if it were not in the list
        problems = [("engagement_id", ["Unknown engagement."])]
    return _render(
        "workspace_contributions.html.j2",
        status=400 if problems else 200,
        rows=rows,
        total=total,
        page=page,
        pages_count=max(1, -(-total // PER_PAGE)),
        form=forms.values_of(request.args, SEARCH_FIELDS),
        filters=use_cases.filter_choices(reads(), _tenant()),
        statuses=CONTRIBUTION_STATUSES,
        types=CONTRIBUTION_TYPES,
        channels=CONTRIBUTION_CHANNELS,
        problems=problems,
    )


@workspace.get(f"{HOME}/contributions/<contribution_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
@handles_personal_data
def contribution_chain(contribution_id: str):
    chain = use_cases.contribution_chain(reads(), _tenant(), contribution_id)
    return _render("workspace_chain.html.j2", chain=chain, recorded=request.args.get("recorded") == "1")


# Importing a CSV file -----------------------------------------------------------------------


@workspace.get(f"{HOME}/import")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def import_form():
    choices = use_cases.filter_choices(reads(), _tenant())
    return _render("workspace_import.html.j2", engagements=choices["engagements"], form={}, report=None)


@workspace.get(f"{HOME}/import/template.csv")
@documented(responses={200: CSV_FILE}, page=True)
@staff_only
def import_template():
    return Response(
        csv_import.template(),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="contributions-template.csv"',
        },
    )


@workspace.post(f"{HOME}/import")
@documented(responses={200: HTML_PAGE, 303: None}, page=True)
@allows_bulk_body  # before the session's CSRF check reads the form
@staff_only
@handles_personal_data
def import_upload():
    choices = use_cases.filter_choices(reads(), _tenant())
    form = forms.values_of(request.form, ("engagement_id", "channel"))
    upload = request.files.get("file")
    report, problems = None, []
    try:
        if not form["engagement_id"]:
            raise InvalidInput.on("engagement_id", "Missing data for required field.")
        services.get_engagement(reads(), _tenant(), form["engagement_id"])
        if form["channel"] not in CONTRIBUTION_CHANNELS:
            raise InvalidInput.on("channel", "Must be one of the choices.")
        content = upload.read(IMPORT_MAX_BYTES + 1) if upload else b""
        if not content or len(content) > IMPORT_MAX_BYTES:
            raise InvalidInput.on("file", "Choose a CSV file of up to 4 MB.")
        report = csv_import.import_content(
            platform(),
            content,
            tenant=_tenant(),
            engagement_id=form["engagement_id"],
            channel=form["channel"],
            identity=g.page_principal.key_id,
        )
    except NotFound:
        problems = [("engagement_id", ["Unknown engagement."])]
    except csv_import.UnreadableFile as unreadable:
        problems = [("file", [str(unreadable)])]
    except InvalidInput as invalid:
        problems = forms.problems(invalid.errors, ("engagement_id", "channel", "file"))
    return _render(
        "workspace_import.html.j2",
        status=400 if problems else 200,
        engagements=choices["engagements"],
        form=form,
        report=report,
        problems=problems,
    )


# Dead letters ------------------------------------------------------------------------------


@workspace.get(f"{HOME}/dead-letters")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def dead_letter_list():
    status = request.args.get("status")
    status = status if status in (DEAD_LETTER_OPEN, DEAD_LETTER_REPLAYED) else None
    page = _page_number()
    items, total = dead_letters.list_for_tenant(
        platform().engine, _tenant(), status=status, page=page, per_page=PER_PAGE
    )
    return _render(
        "workspace_dead_letters.html.j2",
        items=items,
        total=total,
        chosen=status,
        page=page,
        pages_count=max(1, -(-total // PER_PAGE)),
    )


def _dead_letter_page(dead_letter_id: str, *, status: int = 200, **context) -> Response:
    letter = dead_letters.get_for_tenant(platform().engine, _tenant(), dead_letter_id)
    context.setdefault("problems", [])
    return _render("workspace_dead_letter.html.j2", status=status, letter=letter, **context)


@workspace.get(f"{HOME}/dead-letters/<dead_letter_id>")
@documented(responses={200: HTML_PAGE}, page=True)
@staff_only
def dead_letter(dead_letter_id: str):
    return _dead_letter_page(dead_letter_id, outcome=request.args.get("outcome"))


@workspace.post(f"{HOME}/dead-letters/<dead_letter_id>/replay")
@documented(responses={200: HTML_PAGE, 303: None}, page=True)
@staff_only
@audits_as(AUDIT_UPDATE)
def replay_dead_letter(dead_letter_id: str):
    try:
        outcome = platform().processor.replay(dead_letter_id, tenant=_tenant())
    except (InvalidInput, Conflict) as refused:
        return _dead_letter_page(dead_letter_id, status=422, outcome=None, problems=[("replay", [str(refused)])])
    outcome = outcome if outcome in ("accepted", "duplicate") else "accepted"
    return redirect(_with_lang(f"{HOME}/dead-letters/{dead_letter_id}?outcome={outcome}"), 303)
