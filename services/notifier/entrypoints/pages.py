"""A participant's own pages in the notifier: how we contact them, and one-click unsubscribe.

Reached from the signed links in every email (shared/infra/links.py), with no login: the token
is the credential, and a tampered, expired or erased person's link gets the same plain
404 page. The preferences form posts back to its own tokened URL, which another site
cannot know, and `refuse_cross_site` checks the browser's word too (shared/http/pages.py).
The unsubscribe POST is left open to any origin: mail programs send it (RFC 8058).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request
from marshmallow import ValidationError

from services.notifier.entrypoints.copy import COPY
from services.notifier.entrypoints.schemas import PreferencesSchema
from services.notifier.service_layer import services
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, LANGUAGES, Pages, refuse_cross_site
from shared.http.web import platform
from shared.infra.links import PREFERENCES, UNSUBSCRIBE, InvalidLink, Links
from shared.rules.constants import CONTACT_CHANNELS, MESSAGE_FORMATS
from shared.rules.domain import InvalidInput, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
SEND, STOP = "send", "stop"
# The questions on the preferences page: (field, copy key, choices), in order.
QUESTIONS = (
    ("preferred_channel", "channel", CONTACT_CHANNELS),
    ("language", "language", LANGUAGES),
    ("format", "format", MESSAGE_FORMATS),
    ("consent_to_contact", "messages", (SEND, STOP)),
)

preferences_schema = PreferencesSchema()


def as_choices(preferences: dict) -> dict[str, str]:
    """The stored preferences as the page's answers."""
    wanted = preferences["consent_to_contact"] and not preferences["unsubscribed"]
    chosen = {k: preferences[k] for k in ("preferred_channel", "language", "format")}
    return {**chosen, "consent_to_contact": SEND if wanted else STOP}


def from_form(form) -> dict:
    """The page's answers as the API's preferences body (a question left unanswered is left out)."""
    values = {k: form[k] for k in ("preferred_channel", "language", "format") if k in form}
    if form.get("consent_to_contact") in (SEND, STOP):
        values["consent_to_contact"] = form["consent_to_contact"] == SEND
    return values


PAGES = Pages(TEMPLATES, COPY)
LINKS = "participant_pages_links"  # the app's Links, read by the pages


def participant_pages(links: Links) -> Blueprint:
    """The preferences and unsubscribe pages, reading tokens with `links`."""
    blueprint = Blueprint("participant_pages", __name__)
    blueprint.record_once(lambda state: state.app.extensions.__setitem__(LINKS, links))
    blueprint.add_url_rule("/preferences/<token>", view_func=preferences, methods=["GET"])
    blueprint.add_url_rule("/preferences/<token>", view_func=change_preferences, methods=["POST"])
    blueprint.add_url_rule("/v1/unsubscribe/<token>", view_func=unsubscribe_page, methods=["GET"])
    blueprint.add_url_rule("/v1/unsubscribe/<token>", view_func=unsubscribe, methods=["POST"])
    return blueprint


def _links() -> Links:
    return current_app.extensions[LINKS]


def holder(purpose: str, token: str) -> tuple[str, str] | None:
    try:
        return _links().read(purpose, token)
    except InvalidLink:
        return None


def here(**query) -> str:
    """This page's path, keeping the reader's language (and any other values given)."""
    kept = {"lang": request.args["lang"]} if request.args.get("lang") in LANGUAGES else {}
    pairs = urlencode({**kept, **query})
    return f"{request.path}?{pairs}" if pairs else request.path


def offered(reachable: list[str], chosen: dict) -> tuple:
    """The questions, the channel offering only what a message could reach them by (and what
    they chose before, so the page never hides their answer)."""
    channels = tuple(c for c in CONTACT_CHANNELS if c in reachable or c == chosen.get("preferred_channel"))
    return tuple(
        (field, question, channels if field == "preferred_channel" else options)
        for field, question, options in QUESTIONS
    )


def preferences_page(chosen: dict, reachable: list[str], *, failed=(), saved=False, code=200) -> Response:
    return PAGES.render(
        "preferences.html.j2",
        status=code,
        fields=offered(reachable, chosen),
        chosen=chosen,
        failed=set(failed),
        saved=saved,
        action=here(),
    )


@documented(responses={200: HTML_PAGE}, page=True)
def preferences(token: str):
    found = holder(PREFERENCES, token)
    try:
        current = services.preferences(platform().uow(read_only=True), *found) if found else None
    except NotFound:
        current = None
    if current is None:
        return PAGES.not_found()
    return preferences_page(as_choices(current), current["reachable_channels"], saved=request.args.get("saved") == "1")


@documented(responses={303: None}, errors=(400, 422), page=True)
def change_preferences(token: str):
    """The same rules as PUT /v1/participants/{id}/preferences, then back to the page (303)."""
    refuse_cross_site()
    found = holder(PREFERENCES, token)
    if found is None:
        return PAGES.not_found()
    try:
        values = preferences_schema.load(from_form(request.form))
        services.set_preferences(platform().uow(), *found, values, now=platform().clock())
    except NotFound:
        return PAGES.not_found()
    except (ValidationError, InvalidInput) as invalid:
        failed = invalid.messages if isinstance(invalid, ValidationError) else invalid.errors
        try:
            reachable = services.preferences(platform().uow(read_only=True), *found)["reachable_channels"]
        except NotFound:
            return PAGES.not_found()
        return preferences_page(request.form.to_dict(), reachable, failed=failed, code=422)
    return redirect(here(saved=1), 303)


@documented(responses={200: HTML_PAGE}, page=True)
def unsubscribe_page(token: str):
    found = holder(UNSUBSCRIBE, token)
    if found is None:
        return PAGES.not_found()
    return PAGES.render(
        "unsubscribe.html.j2", done=False, action=here(), preferences_url=_preferences_path(_links(), *found)
    )


@documented(responses={200: HTML_PAGE}, page=True)
def unsubscribe(token: str):
    """One click (RFC 8058): mail programs POST here without showing the page."""
    found = holder(UNSUBSCRIBE, token)
    try:
        if found is None:
            raise NotFound("participant")
        services.unsubscribe(platform().uow(), *found, now=platform().clock())
    except NotFound:
        return PAGES.not_found()
    return PAGES.render(
        "unsubscribe.html.j2", done=True, action=here(), preferences_url=_preferences_path(_links(), *found)
    )


PUBLIC_REASON = "the signed token in the participant's link is the credential"
for view in (preferences, change_preferences, unsubscribe_page, unsubscribe):
    view.public_reason = PUBLIC_REASON


def _preferences_path(links: Links, tenant: str, participant_id: str) -> str:
    return f"/preferences/{links.token(PREFERENCES, tenant, participant_id)}"
