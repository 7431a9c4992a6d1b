"""Intake's public pages: a council's open engagements and the "have your say" form.

No account and no key: anyone may read what an engagement asks and send a view. Councils
link to `/councils/<tenant>/engagements` (the same scheme as decisions' published
`/councils/<tenant>/you-said-we-did`); each engagement's form is
`/engagements/<id>/have-your-say`. English or Welsh (`?lang=cy`), standard or easy read
(`?format=easy_read`).

Abuse without a CAPTCHA: a per-address token bucket (shared/http/ratelimit.py, keyed by a keyed
hash of the address, never the address), a honeypot field people never see, the request
size limit every page has, and the same words from the same address on the same day kept
once (service_layer/public_form.py). The form names no session, so there is no session to
ride: `refuse_cross_site` turns away a post another site's page made (Sec-Fetch-Site, else
Origin), which is the whole of what CSRF could do here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from services.intake.domain.public_form import EQUALITY_QUESTIONS, PREFER_NOT_TO_SAY, EngagementClosed
from services.intake.entrypoints.copy import COPY
from services.intake.entrypoints.public_copy import PUBLIC_COPY
from services.intake.entrypoints.public_schemas import (
    CHANNEL_FIELDS,
    EQUALITY_PREFIX,
    FIELD_INPUTS,
    HONEYPOT,
    PLAIN_INPUT,
    HaveYourSayFormSchema,
)
from services.intake.service_layer import public_form as use_cases
from shared.http.i18n import long_date
from shared.http.openapi import documented
from shared.http.pages import HTML_PAGE, Pages, language, refuse_cross_site
from shared.http.ratelimit import RateLimiter
from shared.http.web import platform, reads
from shared.rules.constants import CONTACT_CHANNELS, CONTRIBUTION_TEXT_MAX, MESSAGE_FORMATS
from shared.rules.domain import UK, InvalidInput, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
EASY_READ = "easy_read"
LIMITER = "public_form_limiter"  # its app.extensions key
ADDRESS_PURPOSE = "public_form.address"
REFILL_PER_MINUTE = 1
ADDRESSES_KEPT = 50_000  # buckets per web process; anyone can make up addresses

# The form field each refusal is about -> (the element its summary link leads to, copy key).
FIELD_ERRORS = {
    "text": ("text", "form.error.text"),
    "name": ("name", "form.error.name"),
    "channel": (f"channel-{CONTACT_CHANNELS[0]}", "form.error.channel"),
    "email": ("email", "form.error.email"),
    "phone": ("phone", "form.error.phone"),
    "address_line_1": ("address_line_1", "form.error.address_line_1"),
    "address_line_2": ("address_line_2", "form.error.address_line_2"),
    "address_town": ("address_town", "form.error.address_town"),
    "postcode": ("postcode", "form.error.postcode"),
    "consent": ("consent", "form.error.consent"),
    "format": (f"format-{MESSAGE_FORMATS[0]}", "form.error.format"),
    "language": ("text", "form.error.language"),
    **{
        f"{EQUALITY_PREFIX}{question}": (f"{EQUALITY_PREFIX}{question}-{answers[0].code}", "form.error.equality")
        for question, answers in EQUALITY_QUESTIONS.items()
    },
}
# What the use case may refuse (the participant rules), by the form field it concerns.
USE_CASE_FIELDS = {
    "participant.email": "email",
    "participant.phone": "phone",
    "participant.address_lines": "address_line_1",
    "participant.postcode": "postcode",
}

pages = Pages(TEMPLATES, COPY | PUBLIC_COPY)
form_schema = HaveYourSayFormSchema()
public_form = Blueprint("have_your_say", __name__)


@public_form.record_once
def _rate_limiter(state) -> None:
    p = state.app.extensions["platform"]
    state.app.extensions[LIMITER] = RateLimiter(
        REFILL_PER_MINUTE, p.settings.public_form_burst, p.clock, max_keys=ADDRESSES_KEPT
    )


def _easy_read() -> bool:
    return request.args.get("format") == EASY_READ


def _page_query(**changes) -> str:
    """The reader's language and layout, carried from page to page (None drops one)."""
    kept = {k: request.args[k] for k in ("lang", "format") if request.args.get(k)}
    query = urlencode({k: v for k, v in {**kept, **changes}.items() if v is not None})
    return f"?{query}" if query else ""


def _render(template: str, *, status: int = 200, **context) -> Response:
    """A public page in the reader's language and layout; `say` picks the easy-read wording."""
    lang, easy = language(), _easy_read()
    copy = pages.copy[lang]

    def say(key: str, **values) -> str:
        easy_key = f"{key}.easy"
        return pages.text(lang, easy_key if easy and easy_key in copy else key, **values)

    return pages.render(
        template,
        status=status,
        lang=lang,
        easy_read=easy,
        say=say,
        date=lambda value: long_date(value, lang),
        page_query=_page_query,
        switch_layout_url=request.path + _page_query(format=None if easy else EASY_READ),
        **context,
    )


def _today():
    return platform().clock().astimezone(UK).date()


def _council(tenant: str) -> str:
    return platform().keys.tenant_name(tenant) or tenant


def _engagement_or_page(engagement_id: str):
    """(engagement, None), or (None, the 404 or 410 page to answer with)."""
    try:
        return use_cases.engagement_to_answer(reads(), engagement_id, today=_today()), None
    except NotFound:
        return None, _message(404, "form.unknown.title", ("form.unknown.text", {}))
    except EngagementClosed as closed_one:
        engagement = closed_one.engagement
        council = _council(engagement.tenant)
        closed = (
            "form.closed.text",
            {"title": engagement.title, "date": long_date(engagement.feedback_due, language())},
        )
        others = (
            f"/councils/{engagement.tenant}/engagements{_page_query()}",
            "form.closed.others",
            {"council": council},
        )
        return None, _message(410, "form.closed.title", closed, link=others)


def _message(status: int, title_key: str, line: tuple[str, dict], *, link: tuple[str, str, dict] | None = None):
    """A page that only says something: its title, a line of copy with its values, a link."""
    return _render("public_message.html.j2", status=status, title_key=title_key, line=line, link=link)


def _form_page(engagement, *, status: int = 200, form: dict | None = None, problems=()) -> Response:
    return _render(
        "have_your_say.html.j2",
        status=status,
        engagement=engagement,
        council=_council(engagement.tenant),
        form=form or {"format": EASY_READ if _easy_read() else MESSAGE_FORMATS[0]},
        problems=list(problems),
        failed={field for field, _ in problems},
        channels=CONTACT_CHANNELS,
        channel_fields=CHANNEL_FIELDS,
        field_inputs=FIELD_INPUTS,
        plain_input=PLAIN_INPUT,
        formats=MESSAGE_FORMATS,
        questions=EQUALITY_QUESTIONS,
        prefer_not_to_say=PREFER_NOT_TO_SAY,
        equality_prefix=EQUALITY_PREFIX,
        honeypot=HONEYPOT,
        field_errors=FIELD_ERRORS,
        text_max=CONTRIBUTION_TEXT_MAX,
        copy_keys=pages.copy[language()].keys(),
        request_path=request.path,
    )


def _problems(fields: list[str]) -> list[tuple[str, str]]:
    """(form field, copy key) in the order the form shows them."""
    return [(field, FIELD_ERRORS[field][1]) for field in FIELD_ERRORS if field in fields]


def _address_key() -> str:
    """The bucket of the address the request came from: a keyed hash, never the address."""
    return platform().sealer.lookup_key(ADDRESS_PURPOSE, request.remote_addr or "")


@public_form.get("/councils/<tenant>/engagements")
@documented(responses={200: HTML_PAGE}, page=True)
def council_engagements(tenant: str):
    council = platform().keys.tenant_name(tenant)
    if council is None:
        return pages.not_found()
    engagements = use_cases.open_engagements(reads(), tenant, today=_today())
    return _render("public_engagements.html.j2", council=council, engagements=engagements)


@public_form.get("/engagements/<engagement_id>/have-your-say")
@documented(responses={200: HTML_PAGE}, errors=(410,), page=True)
def have_your_say_form(engagement_id: str):
    engagement, refusal = _engagement_or_page(engagement_id)
    return refusal or _form_page(engagement)


@public_form.post("/engagements/<engagement_id>/have-your-say")
@documented(responses={200: HTML_PAGE}, errors=(410, 429), page=True)
def have_your_say(engagement_id: str):
    refuse_cross_site()
    engagement, refusal = _engagement_or_page(engagement_id)
    if refusal:
        return refusal
    sent = request.form.to_dict()
    if sent.get(HONEYPOT):  # a bot: thanked, and nothing kept
        return _thanks(engagement, receipt=None, contact=False)
    try:
        form = form_schema.load({**sent, "language": language()})
    except ValidationError as invalid:  # putting mistakes right costs nothing from the allowance
        return _form_page(engagement, status=400, form=sent, problems=_problems(list(invalid.messages)))
    allowance = current_app.extensions[LIMITER].take(_address_key())
    if not allowance.allowed:
        response = _message(429, "form.busy.title", ("form.busy.text", {}))  # Retry-After has the seconds
        response.headers["Retry-After"] = str(allowance.retry_after)
        return response
    p = platform()
    try:
        receipt = use_cases.have_your_say(
            p.uow(), engagement.id, form, address=request.remote_addr or "", now=p.clock(), source=p.source
        )
    except (NotFound, EngagementClosed):  # closed (or gone) since the page above was checked
        return _engagement_or_page(engagement_id)[1]
    except InvalidInput as invalid:
        fields = [USE_CASE_FIELDS.get(name, "text") for name in invalid.errors]
        return _form_page(engagement, status=400, form=sent, problems=_problems(fields))
    return _thanks(engagement, receipt=receipt, contact=form["channel"] != "none")


def _thanks(engagement, *, receipt: use_cases.Receipt | None, contact: bool) -> Response:
    """The confirmation page: the reference (none for a bot), and what happens next."""
    return _render(
        "have_your_say_thanks.html.j2",
        engagement=engagement,
        council=_council(engagement.tenant),
        receipt=receipt,
        contact=contact,
    )


council_engagements.public_reason = "a council's published list of the engagements taking views"
have_your_say_form.public_reason = have_your_say.public_reason = "the public form: anyone may have their say"
