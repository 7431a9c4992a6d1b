"""Server-rendered pages: one accessible layout, English and Welsh copy, and sign-in.

Pages work without JavaScript and load nothing from elsewhere (the one stylesheet is
served by the service itself), so the Content-Security-Policy stays strict. Templates show
copy by message key, `t("key", name=value)`, or `nt("key", n)` for a message about `n`
things; the English is in the code and the Welsh in a gettext catalog (shared/http/i18n), which
`tests/unit/shared/i18n` checks is complete, every plural form included.

Staff and board members sign in with their council's OpenID Connect provider
(shared/http/oidc.py), or, where their council has none (and in `make run`), with an API key
once. The session cookie (signed, HttpOnly, SameSite=Lax so the provider's redirect back
carries it, Secure over HTTPS) holds the person (issuer, subject, name, role) or only the
key id, which is checked on every request, so a revoked key is signed out at once. A
session ends after SESSION_IDLE_TIMEOUT without a request and SESSION_ABSOLUTE_TIMEOUT in
all. Every form carries a per-session CSRF token.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jinja2
from flask import Blueprint, Flask, Response, abort, current_app, g, redirect, request, send_from_directory, session

from shared.http import oidc, sessions
from shared.http.i18n import Messages, copy_text
from shared.http.openapi import documented
from shared.infra.auth import Principal
from shared.rules.contact_details import phone_for_display

SHARED_TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "static"
LANGUAGES = ("en", "cy")
HTML_PAGE = {"text/html": {"type": "string", "description": "A page for people, in their language."}}
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Copy every page shares: the layout, sign-in, errors.
# The English; the Welsh is in shared/http/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
SHARED_COPY = Messages(
    copy_text("brand", "Outcome Chain"),
    copy_text("skip", "Skip to main content"),
    copy_text("switch_language", "Cymraeg"),
    copy_text("language_navigation", "Language"),
    copy_text(
        "footer",
        "Run by your council with Outcome Chain. Your views are recorded and you are told what happened.",
    ),
    copy_text("sign_in.title", "Sign in"),
    copy_text("sign_in.intro", "Sign in with the access key your council gave you."),
    copy_text("sign_in.key", "Access key"),
    copy_text("sign_in.button", "Sign in"),
    copy_text("sign_in.refused", "That key was not recognised, or it cannot open this page."),
    copy_text("sign_out", "Sign out"),
    copy_text("error_summary", "There is a problem"),
    copy_text("not_found.title", "Page not found"),
    copy_text("not_found.text", "This link does not work. It may have expired. Ask your council for a new one."),
    copy_text("forbidden.title", "You cannot open this page"),
    copy_text("forbidden.text", "Your access key does not allow this page."),
)


def language() -> str:
    """The page's language: `?lang=` if given, else the browser's preference, else English."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "en"


def url_with(**changes) -> str:
    """This page's URL with some query values changed (None removes one)."""
    args = {**request.args.to_dict(), **changes}
    query = urlencode({k: v for k, v in args.items() if v is not None})
    return request.path + (f"?{query}" if query else "")


class Pages:
    """Renders a service's page templates with the shared layout and its copy catalogs."""

    def __init__(self, template_dir: Path, copy: Messages):
        self.copy = SHARED_COPY | oidc.SIGN_IN_COPY | copy
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(template_dir), jinja2.FileSystemLoader(SHARED_TEMPLATES)]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters["phone"] = phone_for_display

    def text(self, lang: str, key: str, **values) -> str:
        """A message in `lang`; `{name}` placeholders filled from `values`."""
        return self.copy.text(lang, key, **values)

    def ntext(self, lang: str, key: str, n, **values) -> str:
        """A message about `n` things in `lang`, in the plural form `n` takes there."""
        return self.copy.ntext(lang, key, n, **values)

    def render(self, template: str, *, status: int = 200, lang: str | None = None, **context) -> Response:
        lang = lang or language()
        other = "cy" if lang == "en" else "en"
        page = self.environment.get_template(template).render(
            lang=lang,
            t=functools.partial(self.text, lang),
            nt=functools.partial(self.ntext, lang),
            other_lang=other,
            other_language_url=url_with(lang=other),
            url_with=url_with,
            principal=g.get("page_principal"),
            csrf_token=session.get("csrf", "") if g.get("page_principal") else "",
            **context,
        )
        return Response(
            page, status, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": _page_csp()}
        )

    def not_found(self) -> Response:
        return self.render("message.html.j2", status=404, title_key="not_found.title", text_key="not_found.text")


def _page_csp() -> str:
    """PAGE_CSP; a person's pages may also send the sign-out form on to their provider's sign-out
    (browsers apply `form-action` to a form's redirects too)."""
    person = getattr(g.get("page_principal"), "person", None)
    if person is None:
        return PAGE_CSP
    issuer = urlsplit(person.issuer)
    return PAGE_CSP.replace("form-action 'self'", f"form-action 'self' {issuer.scheme}://{issuer.netloc}")


def assets_blueprint() -> Blueprint:
    """The stylesheet every page links to, served by the service itself."""
    assets = Blueprint("assets", __name__)

    @assets.get("/assets/<path:name>")
    @documented(responses={200: {"text/css": {"type": "string"}}})
    def asset(name: str):
        response = send_from_directory(ASSETS, name, max_age=3600)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    asset.public_reason = "the pages' stylesheet"
    return assets


def install_sessions(app: Flask, secret: str, *, secure: bool) -> None:
    """Signed session cookies for signed-in pages (a key id, or the person signed in, and CSRF token)."""
    if not secret:
        raise ValueError("LINK_SIGNING_SECRET is not set")
    app.secret_key = secret
    app.config.update(
        SESSION_COOKIE_NAME="outcomes_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # HTTPS-only wherever the service is served so, and always in production (TLS may end at the ingress).
        SESSION_COOKIE_SECURE=secure or _in_production(app),
    )


def _in_production(app: Flask) -> bool:
    platform = app.extensions.get("platform")
    return platform is not None and not platform.settings.development


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never `//elsewhere` or a full URL (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def refuse_cross_site() -> None:
    """400 for a form posted from another site, for pages whose URL holds a signed token.

    The token is the credential and another site cannot know it (links carry it and every
    page is sent with `Referrer-Policy: no-referrer`), so a forged POST has nothing to
    aim at; this checks the browser's own word as well. `Sec-Fetch-Site` is trusted when
    sent; `Origin` otherwise, where `null` (what browsers send under no-referrer) passes.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            abort(400)
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        abort(400)


def check_csrf() -> None:
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(request.form.get("csrf_token", ""), expected):
        abort(400)


def _settings():
    return current_app.extensions["platform"].settings


def session_principal(principal_for: Callable[[str], Principal | None]) -> Principal | None:
    """The principal of this request's page session, while it lasts; the session is renewed."""
    settings = _settings()
    now = time.time()
    if sessions.ended(session, now, idle=settings.session_idle_timeout, absolute=settings.session_absolute_timeout):
        return None
    if "person" in session:
        found = oidc.person_principal(session)
    else:
        key_id = session.get("key_id")
        found = principal_for(key_id) if key_id else None
        if found is not None and not oidc.keys_allowed(found.tenant):
            found = None  # the council has signed in with its provider since
    if found is not None:
        sessions.touch(session, now)
    return found


def _sign_in_page(pages: Pages, target: str, *, status: int = 200, refused: bool = False) -> Response:
    p = current_app.extensions["platform"]
    councils = oidc.providers().configured()
    return pages.render(
        "sign_in.html.j2",
        status=status,
        next=target,
        refused=refused,
        councils=councils,
        keys_allowed=len(p.keys.list_tenants()) > len(councils),
        ended=request.args.get("ended") == "1",
    )


def sign_in_blueprint(pages: Pages, authenticate: Callable[[str], Principal | None], home: str) -> Blueprint:
    """`/sign-in` (the council's identity provider, or an API key once) and `/sign-out`."""
    signing = Blueprint("sign_in", __name__)

    @signing.get("/sign-in")
    def sign_in_form():
        return _sign_in_page(pages, safe_next(request.args.get("next"), home))

    @signing.post("/sign-in")
    def sign_in():
        target = safe_next(request.form.get("next"), home)
        found = authenticate(request.form.get("key", "").strip())
        if found is None or not oidc.keys_allowed(found.tenant):
            return _sign_in_page(pages, target, status=401, refused=True)
        session.clear()
        session.update(key_id=found.key_id, csrf=secrets.token_urlsafe(32), **sessions.stamps(time.time()))
        return redirect(target, 303)

    @signing.get("/sign-in/<tenant>")
    @documented(responses={303: None}, errors=(503,), page=True)
    def start(tenant: str):
        return oidc.start(pages, tenant, safe_next(request.args.get("next"), home))

    @signing.get("/sign-in/<tenant>/callback")
    @documented(responses={303: None}, errors=(400, 403), page=True)
    def callback(tenant: str):
        return oidc.finish(pages, tenant, home)

    @signing.post("/sign-out")
    def sign_out():
        if session.get("csrf"):
            check_csrf()
        stored = dict(session)
        session.clear()
        return oidc.sign_out_redirect(stored, home)

    @signing.get("/signed-out")
    @documented(responses={200: HTML_PAGE}, page=True)
    def signed_out():
        return pages.render(
            "message.html.j2", title_key="signed_out.title", text_key="signed_out.text", link="/sign-in"
        )

    sign_in_form.public_reason = sign_in.public_reason = "the sign-in form itself"
    start.public_reason = callback.public_reason = "signing in with the council's identity provider"
    sign_out.public_reason = "ends a page session; needs none"
    signed_out.public_reason = "says the session has ended"
    return signing


def signed_in(pages: Pages, principal_for: Callable[[str], Principal | None], *roles: str) -> Callable:
    """Guard a page: a live session (a person, or an unrevoked key) of one of `roles`; forms carry the CSRF token."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            had_session = bool(session.get("csrf"))
            found = session_principal(principal_for)
            if found is None:
                session.clear()
                asked = {"next": request.full_path.rstrip("?"), "lang": request.args.get("lang")}
                # The sign-in page in the language the reader chose, not the browser's.
                query = {k: v for k, v in asked.items() if k == "next" or v in LANGUAGES}
                if had_session:
                    query["ended"] = "1"
                return redirect(f"/sign-in?{urlencode(query)}", 303)
            g.page_principal = found
            if found.role not in roles:
                text_key = "forbidden.person_text" if found.person else "forbidden.text"
                return pages.render("message.html.j2", status=403, title_key="forbidden.title", text_key=text_key)
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)

        guarded.page_roles = roles
        return guarded

    return decorate
