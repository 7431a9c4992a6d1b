"""The public "You said, we did" pages: what each engagement asked, heard and changed.

No sign-in: anyone may read them, so they show counts only, with small numbers hidden
(`views.public_you_said_we_did`), and never a word anyone wrote about a person. Engagement
ids are not guessable, so each council has an index page listing its engagements that
have decisions: `/councils/<tenant>/you-said-we-did`, the address councils publish.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask import Blueprint, Response

from services.decisions.entrypoints.copy import COPY
from services.decisions.service_layer import views
from shared.http.i18n import long_date
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, Pages, language
from shared.http.web import platform, reads
from shared.rules import disclosure
from shared.rules.domain import NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(amount: str | None, currency: str | None) -> str:
    """`£48,000.00`, or `48,000.00 CHF` for a currency without a sign we print."""
    if amount is None:
        return ""
    figures = f"{Decimal(amount):,.2f}"
    sign = CURRENCY_SIGNS.get(currency or "")
    return f"{sign}{figures}" if sign else f"{figures} {currency}"


def render_page(pages: Pages, template: str, *, lang: str | None = None, **context) -> Response:
    """A decisions page in the reader's language (or `lang`), with dates and money written
    out for people: what the public, board and status pages all format with."""
    lang = lang or language()
    return pages.render(template, lang=lang, date=lambda value: long_date(value, lang), money=money, **context)


def public_blueprint() -> Blueprint:
    pages = Pages(TEMPLATES, COPY)
    public = Blueprint("you_said_we_did_pages", __name__)

    def render(template: str, **context):
        return render_page(pages, template, FEWER_THAN=disclosure.FEWER_THAN, AT_LEAST=disclosure.AT_LEAST, **context)

    @public.get("/engagements/<engagement_id>/you-said-we-did")
    @documented(responses={200: HTML_PAGE}, page=True)
    def you_said_we_did(engagement_id: str):
        try:
            report = views.public_you_said_we_did(reads(), engagement_id)
        except NotFound:
            return pages.not_found()
        council = platform().keys.tenant_name(report["tenant"]) or report["tenant"]
        return render("public_you_said_we_did.html.j2", report=report, council=council)

    @public.get("/councils/<tenant>/you-said-we-did")
    @documented(responses={200: HTML_PAGE}, page=True)
    def council_index(tenant: str):
        council = platform().keys.tenant_name(tenant)
        if council is None:
            return pages.not_found()
        engagements = views.public_engagements(reads(), tenant)
        return render("public_index.html.j2", council=council, engagements=engagements)

    you_said_we_did.public_reason = "published for everyone: counts with small numbers hidden, no personal data"
    council_index.public_reason = "a council's published list of its engagements' outcomes"
    return public
