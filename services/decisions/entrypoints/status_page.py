"""The participant's status page, reached by the signed link in every message (no login).

The token in the URL is the credential: it names one council and one participant, and a
tampered, expired or foreign token, like another person's contribution, gets the same
plain 404 page. Forms post back to a URL holding the token, which another site cannot
know; `refuse_cross_site` checks the browser's Sec-Fetch-Site/Origin as well, so no
session or form nonce is needed (see shared/http/pages.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request
from marshmallow import ValidationError

from services.decisions.entrypoints.copy import COPY
from services.decisions.entrypoints.public_pages import render_page
from services.decisions.entrypoints.schemas import RatingFormSchema
from services.decisions.service_layer import services, views
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, Pages, refuse_cross_site
from shared.http.web import platform
from shared.infra.links import STATUS_PAGE, InvalidLink, Links
from shared.rules.constants import RATING_COMMENT_MAX, RATINGS
from shared.rules.domain import UK, InvalidInput, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
EASY_READ = "easy_read"
# What a refused answer says, and where its message links: (form field, element id, copy key).
ERRORS = (
    ("contribution", "contribution-{cid}", "status.error.not_decided"),
    ("rating", "rating-{cid}-yes", "status.error.rating"),
    ("comment", "comment-{cid}", "status.error.comment"),
)

rating_form = RatingFormSchema()


PAGES = Pages(TEMPLATES, COPY)
LINKS = "status_page_links"  # the app's Links, read by the pages


def status_blueprint(links: Links) -> Blueprint:
    """The status page and its rating form, reading tokens with `links`."""
    status = Blueprint("status_page", __name__)
    status.record_once(lambda state: state.app.extensions.__setitem__(LINKS, links))
    status.add_url_rule("/status/<token>", view_func=status_page, methods=["GET"])
    rating = "/status/<token>/contributions/<contribution_id>/rating"
    status.add_url_rule(rating, view_func=rate, methods=["POST"])
    status.add_url_rule(rating, view_func=after_rating, methods=["GET"])
    return status


def holder(token: str) -> tuple[str, str] | None:
    """(tenant, participant id) the link was made for; None for any bad link."""
    try:
        return current_app.extensions[LINKS].read(STATUS_PAGE, token)
    except InvalidLink:
        return None


def page_query(**changes) -> str:
    """The language and layout the reader chose, carried from page to page (None drops one)."""
    kept = {k: request.args[k] for k in ("lang", "format") if request.args.get(k)}
    return urlencode({k: v for k, v in {**kept, **changes}.items() if v is not None})


def page_url(token: str, **changes) -> str:
    query = page_query(**changes)
    return f"/status/{token}?{query}" if query else f"/status/{token}"


def show(token: str, tenant: str, participant_id: str, *, code: int = 200, problems=None, form=None) -> Response:
    p = platform()
    found = views.participant_status(
        p.uow(read_only=True), tenant, participant_id, today=p.clock().astimezone(UK).date()
    )
    easy = request.args.get("format") == EASY_READ
    chains = found["chains"]
    if problems and not any(c["contribution"]["id"] in problems for c in chains):
        return PAGES.not_found()  # someone else's contribution: as if it did not exist
    rated = request.args.get("rated")
    thanked = next((c for c in chains if c["contribution"]["id"] == rated and c["rating"]), None)
    return render_page(
        PAGES,
        "status.html.j2",
        status=code,
        easy_read=easy,
        erased=found["erased"],
        chains=chains,
        thanked=thanked,
        problems=problems or {},
        form=form or {},
        ratings=RATINGS,
        comment_max=RATING_COMMENT_MAX,
        errors=[
            (anchor.format(cid=cid), key)
            for cid, fields in (problems or {}).items()
            for field, anchor, key in ERRORS
            if field in fields
        ],
        token=token,
        query=page_query(),
        switch_layout_url=page_url(token, format=None if easy else EASY_READ),
    )


@documented(responses={200: HTML_PAGE}, page=True)
def status_page(token: str):
    found = holder(token)
    if found is None:
        return PAGES.not_found()
    return show(token, *found)


@documented(form=RatingFormSchema, responses={303: None}, errors=(400,), page=True)
def rate(token: str, contribution_id: str):
    """The answer to "Did this make a difference?": stored, announced, then the page again (303)."""
    refuse_cross_site()
    found = holder(token)
    if found is None:
        return PAGES.not_found()
    tenant, participant_id = found
    try:
        answer = rating_form.load(request.form)
        p = platform()
        services.rate_contribution(
            p.uow(),
            tenant,
            participant_id,
            contribution_id,
            answer["rating"],
            answer["comment"],
            now=p.clock(),
            source=p.source,
        )
    except NotFound:
        return PAGES.not_found()
    except (ValidationError, InvalidInput) as invalid:
        fields = invalid.messages if isinstance(invalid, ValidationError) else invalid.errors
        problems = {contribution_id: sorted(fields)}
        return show(token, tenant, participant_id, code=422, problems=problems, form=request.form)
    return redirect(f"{page_url(token, rated=contribution_id)}#contribution-{contribution_id}", 303)


@documented(responses={303: None}, page=True)
def after_rating(token: str, contribution_id: str):
    """The answer form's address, opened (say by the language link on a refused answer): the page."""
    if holder(token) is None:
        return PAGES.not_found()
    return redirect(page_url(token), 303)


status_page.public_reason = rate.public_reason = after_rating.public_reason = (
    "the signed token in the participant's link is the credential"
)
