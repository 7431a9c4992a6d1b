"""A real OpenID provider for the tests (node-oidc-provider), and signing in through it.

`start_provider(stack, tenants)` starts `node tests/support/oidc-provider/server.mjs` on a
free port among the stack's processes (stopped with them), with one client per council and
one person per council and role: `staff@<tenant>`, `board@<tenant>`, `admin@<tenant>`, each
in the group `<tenant>-<role>`. `configure(stack, provider, tenant)` points the council at
it with the operator's own command (`outcomes identity-provider set`). `sign_in(...)` goes
through the provider's own login form with `requests`, as a browser would without scripts;
`set_groups` changes a person's groups for their next sign-in.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from bench.harness import free_port, http_ok, wait_until
from shared.infra.settings import SERVICES
from tests.support.stack import Stack, outcomes_cli

SERVER = Path(__file__).resolve().parent / "oidc-provider" / "server.mjs"
ROLES = ("staff", "board", "admin")
STARTUP_TIMEOUT = 60


@dataclass
class OidcProvider:
    issuer: str
    clients: dict[str, tuple[str, str]]  # tenant -> (client id, client secret)
    users_file: Path

    def users(self) -> dict[str, dict]:
        return json.loads(self.users_file.read_text())

    def set_groups(self, account: str, groups: list[str]) -> None:
        """The person's groups from their next sign-in on (the provider reads the file each time)."""
        users = self.users()
        users[account]["groups"] = list(groups)
        self.users_file.write_text(json.dumps(users))


def group(tenant: str, role: str) -> str:
    return f"{tenant}-{role}"


def account(tenant: str, role: str) -> str:
    return f"{role}@{tenant}"


def start_provider(stack: Stack, tenants: tuple[str, ...], extra_urls: tuple[str, ...] = ()) -> OidcProvider:
    """The provider, with a client for each council at every service's sign-in callback
    (and at those of `extra_urls`, more web processes the test started)."""
    urls = [stack.urls[service] for service in SERVICES] + list(extra_urls)
    ctx = stack.ctx
    port = free_port()
    home = ctx.tmp / "oidc-provider"
    home.mkdir(parents=True, exist_ok=True)
    users_file = home / "users.json"
    users_file.write_text(
        json.dumps(
            {
                account(tenant, role): {
                    "name": f"{role.title()} Member of {tenant}",
                    "email": f"{role}@{tenant}.example.gov.uk",
                    "groups": [group(tenant, role)],
                }
                for tenant in tenants
                for role in ROLES
            }
        )
    )
    clients = {tenant: (f"outcomes-{tenant}", secrets.token_urlsafe(24)) for tenant in tenants}
    config = home / "config.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "cookie_key": secrets.token_urlsafe(24),
                "users_file": str(users_file),
                "clients": [
                    {
                        "client_id": client_id,
                        "client_secret": secret,
                        "redirect_uris": [f"{url}/sign-in/{tenant}/callback" for url in urls],
                        "post_logout_redirect_uris": [f"{url}/signed-out" for url in urls],
                    }
                    for tenant, (client_id, secret) in clients.items()
                ],
            }
        )
    )
    proc = ctx.processes.start("oidc-provider", ["node", str(SERVER), str(config)], {"NODE_ENV": "development"})
    issuer = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(issuer + "/.well-known/openid-configuration"),
        timeout=STARTUP_TIMEOUT,
        what="the OpenID provider to answer",
        procs=(proc,),
        processes=ctx.processes,
    )
    return OidcProvider(issuer, clients, users_file)


def configure(stack: Stack, provider: OidcProvider, tenant: str) -> str:
    """`outcomes identity-provider set` for the council, as its operator would run it."""
    client_id, secret = provider.clients[tenant]
    secret_file = stack.ctx.tmp / f"oidc-{tenant}.secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    groups = [f"--{role}-group={group(tenant, role)}" for role in ROLES]
    return outcomes_cli(
        stack.ctx,
        "identity-provider",
        "set",
        "--tenant",
        tenant,
        "--issuer",
        provider.issuer,
        "--client-id",
        client_id,
        "--client-secret-file",
        str(secret_file),
        "--role-claim",
        "groups",
        *groups,
    )


# Signing in through the provider's pages ---------------------------------------------------


class _Forms(HTMLParser):
    """Each <form>'s action and its named inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._by_id: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            form = {"action": attrs.get("action", ""), "fields": {}}
            self.forms.append(form)
            if attrs.get("id"):
                self._by_id[attrs["id"]] = form
        elif tag == "input" and attrs.get("name"):
            form = self._by_id.get(attrs.get("form", "")) or (self.forms[-1] if self.forms else None)
            if form is not None:
                form["fields"][attrs["name"]] = attrs.get("value") or ""


def forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def with_query(url: str, **changes: str) -> str:
    """`url` with some query values replaced (how a test tampers with a state or a nonce)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def _follow(
    browser: requests.Session,
    response: requests.Response,
    provider: OidcProvider,
    *,
    authorization: Callable[[str], str],
    callback: Callable[[str], str],
) -> requests.Response:
    for _ in range(20):
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers["Location"])
        if target.startswith(provider.issuer + "/auth?"):
            target = authorization(target)
        elif "/callback?" in target:
            target = callback(target)
        response = browser.get(target, allow_redirects=False, timeout=30)
    raise AssertionError("too many redirects while signing in")


def sign_in(
    browser: requests.Session,
    service_url: str,
    tenant: str,
    provider: OidcProvider,
    login: str,
    *,
    next_page: str = "/",
    authorization: Callable[[str], str] = lambda url: url,
    callback: Callable[[str], str] = lambda url: url,
) -> requests.Response:
    """Sign `login` in to the service's pages for `tenant` through the provider's login form
    (no form when the provider still has them signed in); the page the service ends on.
    `authorization` and `callback` may rewrite the URLs the browser is sent to (tampering)."""
    hooks = {"authorization": authorization, "callback": callback}
    response = browser.get(
        f"{service_url}/sign-in/{tenant}", params={"next": next_page}, allow_redirects=False, timeout=30
    )
    response = _follow(browser, response, provider, **hooks)
    if response.url.startswith(provider.issuer) and response.status_code == 200:
        [login_form] = [form for form in forms(response.text) if "login" in form["fields"]]
        fields = {**login_form["fields"], "login": login, "password": "any password"}
        response = browser.post(
            urljoin(response.url, login_form["action"]), data=fields, allow_redirects=False, timeout=30
        )
        response = _follow(browser, response, provider, **hooks)
    return response


def sign_out(browser: requests.Session, service_url: str, page: requests.Response, provider: OidcProvider):
    """Press "Sign out" on a signed-in page, then confirm at the provider; the page it ends on."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    response = browser.post(f"{service_url}/sign-out", data={"csrf_token": token}, allow_redirects=False, timeout=30)
    response = _follow(browser, response, provider, authorization=lambda u: u, callback=lambda u: u)
    if response.url.startswith(provider.issuer):
        [confirm] = [form for form in forms(response.text) if "xsrf" in form["fields"]]
        response = browser.post(
            urljoin(response.url, confirm["action"]),
            data={**confirm["fields"], "logout": "yes"},
            allow_redirects=False,
            timeout=30,
        )
        response = _follow(browser, response, provider, authorization=lambda u: u, callback=lambda u: u)
    return response


# In a real browser (Playwright) -------------------------------------------------------------


def sign_in_in_browser(page, service_url: str, tenant: str, login: str, *, next_page: str = "/dashboard") -> None:
    """In Chromium, with the keyboard: the service's sign-in page, "Sign in with <council>",
    the provider's own login form (skipped while the provider still has them signed in),
    and back to `next_page` on the service."""
    from tests.support.browser import tab_to

    page.goto(f"{service_url}/sign-in?{urlencode({'next': next_page})}")
    tab_to(page, f'a[href^="/sign-in/{tenant}?"]')
    page.keyboard.press("Enter")
    # Redirects are never shown: the next page is the provider's form, or back on the service.
    page.wait_for_url(
        lambda url: "/interaction/" in url or (url.startswith(service_url + "/") and "/sign-in?" not in url)
    )
    if "/interaction/" in page.url:
        page.locator('input[name="login"]').fill(login)
        page.locator('input[name="password"]').fill("any password")
        page.locator('input[name="password"]').press("Enter")
        page.wait_for_url(lambda url: url.startswith(service_url + "/"))
    page.wait_for_load_state()
