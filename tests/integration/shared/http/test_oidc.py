"""Staff and board members sign in with their council's OpenID provider (a real one,
node-oidc-provider), against every service running as an operator runs it."""

from __future__ import annotations

import re
import time

import pytest
import requests

from bench import stack as bench_stack
from tests.support import factories
from tests.support.oidc_provider import account, configure, sign_in, sign_out, start_provider, with_query
from tests.support.stack import outcomes_cli, running_stack

COUNCIL_A, COUNCIL_A_NAME = "ceredigion", "Ceredigion County Council"
COUNCIL_B, COUNCIL_B_NAME = "powys", "Powys County Council"
SHORT = {"idle": {"SESSION_IDLE_TIMEOUT": "1"}, "absolute": {"SESSION_ABSOLUTE_TIMEOUT": "1"}}


@pytest.fixture(scope="module")
def councils(tmp_path_factory, postgres):
    """Both councils on one deployment, each signing in with its own client at the provider;
    besides the services, an intake whose sessions end after one idle second, and one whose
    sessions last one second in all."""
    tmp = tmp_path_factory.mktemp("oidc-stack")
    with running_stack(tmp, postgres, tenant=COUNCIL_A, tenant_name=COUNCIL_A_NAME) as stack:
        outcomes_cli(stack.ctx, "tenants", "create", COUNCIL_B, "--name", COUNCIL_B_NAME)
        short = {
            kind: bench_stack.start_gunicorn(
                stack.ctx, f"intake-web-{kind}", "services.intake.entrypoints.wsgi:app", env=env, workers=1
            )[1]
            for kind, env in SHORT.items()
        }
        provider = start_provider(stack, (COUNCIL_A, COUNCIL_B), extra_urls=tuple(short.values()))
        for tenant in (COUNCIL_A, COUNCIL_B):
            configure(stack, provider, tenant)
        yield stack, provider, short


@pytest.fixture
def browser():
    with requests.Session() as session:
        yield session


def test_staff_sign_in_with_the_council_account_and_see_the_dashboard(councils, browser):
    stack, provider, _ = councils
    page = sign_in(
        browser, stack.urls["intake"], COUNCIL_A, provider, account(COUNCIL_A, "staff"), next_page="/dashboard"
    )
    assert (page.status_code, page.url) == (200, stack.urls["intake"] + "/dashboard")
    assert "Sign out" in page.text


def test_the_role_comes_from_the_group_claim(councils, browser):
    stack, provider, _ = councils
    board = account(COUNCIL_A, "board")
    dashboard = sign_in(browser, stack.urls["intake"], COUNCIL_A, provider, board, next_page="/dashboard")
    assert dashboard.status_code == 403  # the dashboard is staff's
    assert "account does not allow this page" in dashboard.text and "Your role in your council" in dashboard.text
    with requests.Session() as other:
        board_page = sign_in(other, stack.urls["decisions"], COUNCIL_A, provider, board, next_page="/board")
    assert (board_page.status_code, board_page.url) == (200, stack.urls["decisions"] + "/board")


def test_a_member_of_one_council_is_refused_by_another(councils, browser):
    stack, provider, _ = councils
    refused = sign_in(browser, stack.urls["intake"], COUNCIL_B, provider, account(COUNCIL_A, "staff"))
    assert refused.status_code == 403
    assert "Your account cannot open these pages" in refused.text
    assert browser.get(stack.urls["intake"] + "/dashboard", allow_redirects=False).status_code == 303


def test_a_tampered_state_is_refused_with_a_page(councils, browser):
    stack, provider, _ = councils
    refused = sign_in(
        browser,
        stack.urls["intake"],
        COUNCIL_A,
        provider,
        account(COUNCIL_A, "staff"),
        callback=lambda url: with_query(url, state="forged-state"),
    )
    assert refused.status_code == 400
    assert "You could not be signed in" in refused.text


def test_a_tampered_nonce_is_refused_with_a_page(councils, browser):
    stack, provider, _ = councils
    refused = sign_in(
        browser,
        stack.urls["intake"],
        COUNCIL_A,
        provider,
        account(COUNCIL_A, "staff"),
        authorization=lambda url: with_query(url, nonce="forged-nonce"),
    )
    assert refused.status_code == 400
    assert "You could not be signed in" in refused.text


def test_signing_out_ends_the_session_here_and_at_the_provider(councils, browser):
    stack, provider, _ = councils
    intake = stack.urls["intake"]
    page = sign_in(browser, intake, COUNCIL_A, provider, account(COUNCIL_A, "staff"), next_page="/dashboard")

    done = sign_out(browser, intake, page, provider)

    assert (done.status_code, done.url.split("?")[0]) == (200, intake + "/signed-out")
    assert "You have signed out" in done.text
    assert browser.get(intake + "/dashboard", allow_redirects=False).status_code == 303
    # The provider asks for the login again: its own session ended too.
    again = browser.get(f"{intake}/sign-in/{COUNCIL_A}", timeout=30)
    assert again.url.startswith(provider.issuer) and 'name="login"' in again.text


def test_sign_out_without_the_form_token_is_refused(councils, browser):
    stack, provider, _ = councils
    intake = stack.urls["intake"]
    sign_in(browser, intake, COUNCIL_A, provider, account(COUNCIL_A, "staff"), next_page="/dashboard")
    assert browser.post(intake + "/sign-out", data={}, allow_redirects=False).status_code == 400
    assert browser.get(intake + "/dashboard", allow_redirects=False).status_code == 200


def test_someone_whose_group_is_removed_loses_access_at_their_next_sign_in(councils, browser):
    stack, provider, _ = councils
    person = account(COUNCIL_B, "staff")
    intake = stack.urls["intake"]
    assert sign_in(browser, intake, COUNCIL_B, provider, person, next_page="/dashboard").status_code == 200

    provider.set_groups(person, [])
    with requests.Session() as later:
        refused = sign_in(later, intake, COUNCIL_B, provider, person, next_page="/dashboard")

    assert refused.status_code == 403
    assert "Your account cannot open these pages" in refused.text


@pytest.mark.parametrize("kind", SHORT)
def test_a_session_ends_after_its_timeout(councils, browser, kind):
    stack, provider, short = councils
    sign_in(browser, short[kind], COUNCIL_A, provider, account(COUNCIL_A, "staff"), next_page="/dashboard")
    time.sleep(1.5)  # past the one-second timeout this intake was started with

    ended = browser.get(short[kind] + "/dashboard", allow_redirects=False)

    assert ended.status_code == 303
    assert ended.headers["Location"].startswith("/sign-in?") and "ended=1" in ended.headers["Location"]
    assert "Your session ended" in browser.get(short[kind] + ended.headers["Location"]).text


def test_the_audit_log_names_the_person_behind_a_page(councils, browser):
    stack, provider, _ = councils
    decisions = stack.urls["decisions"]
    board = account(COUNCIL_A, "board")
    assert sign_in(browser, decisions, COUNCIL_A, provider, board, next_page="/board/decisions/new").status_code == 200

    entries = requests.get(
        decisions + "/v1/audit", headers=stack.headers("admin"), params={"role": "board"}, timeout=30
    ).json()["items"]

    by_person = [e for e in entries if e["route"] == "/board/decisions/new"][0]
    assert (by_person["person_issuer"], by_person["person_subject"]) == (provider.issuer, board)
    assert by_person["person_name"] == f"Board Member of {COUNCIL_A}"
    assert by_person["key_id"].startswith("person-")


def test_access_keys_no_longer_open_the_pages_of_a_council_with_a_provider(councils, browser):
    stack, _, _ = councils
    intake = stack.urls["intake"]
    form = browser.get(intake + "/sign-in")
    assert f"Sign in with {COUNCIL_A_NAME}" in form.text and f"Sign in with {COUNCIL_B_NAME}" in form.text

    refused = browser.post(intake + "/sign-in", data={"key": stack.keys["staff"], "next": "/dashboard"})

    assert refused.status_code == 401
    # The API still takes the council's keys: they are for its machines.
    assert requests.get(intake + "/v1/engagements", headers=stack.headers("staff"), timeout=30).status_code == 200


def test_an_api_call_from_a_persons_session_is_theirs_in_the_audit_log(councils, browser):
    stack, provider, _ = councils
    intake, staff = stack.urls["intake"], account(COUNCIL_A, "staff")
    page = sign_in(browser, intake, COUNCIL_A, provider, staff, next_page="/dashboard")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    body = factories.engagement_payload()

    forged = browser.post(intake + "/v1/engagements", json=body, timeout=30)
    created = browser.post(intake + "/v1/engagements", json=body, headers={"X-CSRF-Token": token}, timeout=30)

    assert (forged.status_code, created.status_code) == (403, 201)
    entries = requests.get(
        intake + "/v1/audit", headers=stack.headers("admin"), params={"route": "/v1/engagements"}, timeout=30
    ).json()["items"]
    assert [(e["status"], e["person_subject"], e["person_issuer"]) for e in entries] == [
        (201, staff, provider.issuer),
        (403, staff, provider.issuer),
    ]
