"""Signing in with the council's own accounts, in Chromium, through the real provider's pages.

A council beside the demo one (whose pages keep taking access keys) signs its people in
with node-oidc-provider; a member of staff goes from the service's sign-in page through the
provider's login form to the dashboard, and signs out of both.
"""

from __future__ import annotations

import pytest

from tests.support.browser import assert_accessible, press_button
from tests.support.oidc_provider import account, configure, sign_in_in_browser, start_provider
from tests.support.stack import Stack, outcomes_cli

COUNCIL, COUNCIL_NAME = "bromorgannwg", "Cyngor Bro Morgannwg"


@pytest.fixture(scope="module")
def provider(demo_council: Stack):
    outcomes_cli(demo_council.ctx, "tenants", "create", COUNCIL, "--name", COUNCIL_NAME)
    started = start_provider(demo_council, (COUNCIL,))
    configure(demo_council, started, COUNCIL)
    return started


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_sign_in_page_offers_the_council_account_in_both_languages(demo_council, provider, page, lang):
    page.goto(f"{demo_council.urls['intake']}/sign-in?lang={lang}")
    wanted = {"en": f"Sign in with {COUNCIL_NAME}", "cy": f"Mewngofnodi gyda {COUNCIL_NAME}"}[lang]
    assert page.get_by_role("link", name=wanted).is_visible()
    assert_accessible(page)


def test_staff_sign_in_through_the_provider_login_form_and_sign_out_of_both(demo_council, provider, page):
    intake = demo_council.urls["intake"]

    sign_in_in_browser(page, intake, COUNCIL, account(COUNCIL, "staff"), next_page="/dashboard")

    assert page.url == f"{intake}/dashboard"
    assert_accessible(page)
    press_button(page, 'form[action="/sign-out"] button')
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{intake}/signed-out**")
    assert page.get_by_role("heading", name="You have signed out").is_visible()
    assert_accessible(page)
    page.goto(f"{intake}/dashboard")
    assert page.url.startswith(f"{intake}/sign-in")
