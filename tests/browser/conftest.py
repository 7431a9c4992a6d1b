"""The browser tier: every service running as an operator runs it, seeded with the demo
council a newcomer gets from `make run`, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json

import pytest

from ops import demo
from tests.support import browser
from tests.support.stack import Stack, outcomes_cli, running_stack


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def demo_council(tmp_path_factory, postgres) -> Stack:
    """The whole system under gunicorn on PostgreSQL and Tansu, with `outcomes demo` run
    against it (one stack for the tier: its tests share a worker, see the Makefile)."""
    browser.require_chromium_and_axe()
    tmp = tmp_path_factory.mktemp("browser-stack")
    with running_stack(tmp, postgres, tenant=demo.DEMO_TENANT, tenant_name="Demo Council") as stack:
        keys = tmp / "keys.json"
        keys.write_text(json.dumps(stack.keys))
        urls = stack.urls
        outcomes_cli(
            stack.ctx, "demo", "--intake-url", urls["intake"], "--decisions-url", urls["decisions"], "--keys", str(keys)
        )
        yield stack


@pytest.fixture(scope="session")
def chromium():
    browser.require_chromium_and_axe()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(browser.CHROMIUM), args=browser.CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(chromium):
    """A fresh browser profile (no cookies) at a laptop's size, for each test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
