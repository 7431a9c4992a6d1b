"""Signing staff and board members in with their council's OpenID Connect provider.

Authorisation code with PKCE (S256), through Authlib's Flask client: it keeps each
attempt's state, nonce and code verifier in the session, refuses a callback whose state
it did not issue, and checks the ID token (signature from the provider's JWKS, issuer,
audience, expiry, nonce). The person's role comes from the provider's group claim,
mapped per council (shared/infra/identity.py); no role, no session. Sign-out ends the session
here, then at the provider (RP-initiated logout with `id_token_hint`).

Each council registers, at its provider, the redirect URI `https://<service>/sign-in/<tenant>/callback`
and the post-logout redirect URI `https://<service>/signed-out`, for intake and decisions.
"""

from __future__ import annotations

import logging
import secrets
import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import current_app, redirect, request, session, url_for
from joserfc.errors import JoseError

from shared.http import sessions
from shared.http.i18n import Messages, copy_text
from shared.infra.auth import Person, Principal
from shared.infra.identity import IdentityProvider, IdentityProviders, display_name, issuer_problem, role_for

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10  # seconds for each call to a provider
METADATA_SECONDS = 3600  # a provider's discovery document (and keys) are read again after this
PENDING_NEXT = "sign_in_next"

# What can go wrong between the provider and us: each ends in a page, never a 500.
REFUSED_CALLBACK = (OAuthError, JoseError, requests.RequestException, ValueError, KeyError)

# The English; the Welsh is in shared/http/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
SIGN_IN_COPY = Messages(
    copy_text("sign_in.with_provider", "Sign in with {council}"),
    copy_text("sign_in.providers_intro", "Sign in with your council account."),
    copy_text("sign_in.key_heading", "Sign in with an access key"),
    copy_text("sign_in.failed.title", "You could not be signed in"),
    copy_text(
        "sign_in.failed.text",
        "The sign-in could not be completed, or it was not the one this page started. Go back to the sign-in page "
        "and try again.",
    ),
    copy_text("sign_in.no_role.title", "Your account cannot open these pages"),
    copy_text(
        "sign_in.no_role.text",
        "Your council account is not in a group that may use these pages. Ask your council's administrator to add you.",
    ),
    copy_text("sign_in.unavailable.title", "Sign-in is not available"),
    copy_text(
        "sign_in.unavailable.text",
        "Your council's sign-in service could not be reached. Try again in a few minutes.",
    ),
    copy_text("sign_in.again", "Go to the sign-in page"),
    copy_text("forbidden.person_text", "Your role in your council's account does not allow this page."),
    copy_text("signed_out.title", "You have signed out"),
    copy_text("signed_out.text", "You have signed out of these pages."),
    copy_text("session_ended", "Your session ended. Sign in again to carry on."),
)


def _platform():
    return current_app.extensions["platform"]


def providers() -> IdentityProviders:
    return _platform().identity


class Clients:
    """One Authlib client per council, built again when its provider's settings change."""

    def __init__(self):
        self._built: dict[str, tuple[str, float, FlaskOAuth2App]] = {}

    def for_provider(self, provider: IdentityProvider) -> FlaskOAuth2App:
        now = time.monotonic()
        cached = self._built.get(provider.tenant)
        if cached and cached[0] == provider.fingerprint and cached[1] > now:
            return cached[2]
        name = f"oidc_{provider.tenant}"
        client = FlaskOAuth2App(
            FlaskIntegration(name),
            name=name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={"scope": provider.scope, "code_challenge_method": "S256", "default_timeout": HTTP_TIMEOUT},
        )
        self._built[provider.tenant] = (provider.fingerprint, now + METADATA_SECONDS, client)
        return client


CLIENTS = Clients()


def _usable(tenant: str) -> IdentityProvider | None:
    """The tenant's provider, unless there is none or (in production) its issuer is not https."""
    provider = providers().get(tenant)
    if provider is None:
        return None
    problem = issuer_problem(provider.issuer, production=not _platform().settings.development)
    if problem:
        log.error("identity provider refused", extra={"tenant": tenant, "problem": problem})
        return None
    return provider


def _external(endpoint: str, **values) -> str:
    """A URL of this service for the provider to send the browser back to (https in production)."""
    scheme = request.scheme if _platform().settings.development else "https"
    return url_for(endpoint, _external=True, _scheme=scheme, **values)


def start(pages, tenant: str, target: str):
    """Send the browser to the council's provider, with a fresh state, nonce and PKCE challenge."""
    provider = _usable(tenant)
    if provider is None:
        return pages.not_found()
    try:
        client = CLIENTS.for_provider(provider)
        response = client.authorize_redirect(
            _external("sign_in.callback", tenant=tenant), nonce=secrets.token_urlsafe(24)
        )
    except (requests.RequestException, ValueError, RuntimeError):
        log.warning("identity provider unreachable", extra={"tenant": tenant})
        return _failed(pages, "sign_in.unavailable", 503)
    session[PENDING_NEXT] = target
    return response


def finish(pages, tenant: str, home: str):
    """The provider's answer: a session for the person, or a page saying why there is none."""
    provider = _usable(tenant)
    if provider is None:
        return pages.not_found()
    client = CLIENTS.for_provider(provider)
    try:
        token = client.authorize_access_token()
        claims = token.get("userinfo")
        if not claims or not claims.get("sub"):
            raise ValueError("no ID token")
    except REFUSED_CALLBACK as refused:
        log.info("sign-in refused", extra={"tenant": tenant, "reason": type(refused).__name__})
        return _failed(pages, "sign_in.failed", 400)
    role = role_for(claims, provider)
    if role is None:
        return _failed(pages, "sign_in.no_role", 403)
    target = session.pop(PENDING_NEXT, home)
    session.clear()
    session.update(
        tenant=tenant,
        role=role,
        person={"iss": claims["iss"], "sub": claims["sub"], "name": display_name(claims)},
        id_token=token.get("id_token", ""),
        csrf=secrets.token_urlsafe(32),
        **sessions.stamps(time.time()),
    )
    return redirect(target, 303)


def person_principal(stored: dict) -> Principal | None:
    """The principal of a person's session, while their council still signs in with that provider."""
    person = stored.get("person") or {}
    tenant = stored.get("tenant")
    provider = providers().get(tenant) if tenant else None
    if provider is None or not person.get("sub") or person.get("iss", "").rstrip("/") != provider.issuer.rstrip("/"):
        return None
    found = Person(issuer=person["iss"], subject=person["sub"], name=person.get("name", ""))
    return Principal(key_id=found.reference, tenant=tenant, role=stored.get("role", ""), person=found)


def keys_allowed(tenant: str) -> bool:
    """Access keys open a council's pages only while it has no identity provider."""
    return providers().get(tenant) is None


def sign_out_redirect(stored: dict, home: str):
    """After the session here has ended: on to the provider's sign-out, or home."""
    tenant = stored.get("tenant")
    provider = _usable(tenant) if tenant and stored.get("person") else None
    if provider is None:
        return redirect(home, 303)
    try:
        client = CLIENTS.for_provider(provider)
        result = client.create_logout_url(
            post_logout_redirect_uri=_external("sign_in.signed_out"),
            id_token_hint=stored.get("id_token") or None,
            client_id=provider.client_id,
        )
    except (requests.RequestException, RuntimeError, ValueError):
        return redirect(url_for("sign_in.signed_out"), 303)  # a provider without RP-initiated logout
    return redirect(result["url"], 303)


def _failed(pages, key: str, status: int):
    return pages.render(
        "message.html.j2", status=status, title_key=f"{key}.title", text_key=f"{key}.text", link="/sign-in"
    )
