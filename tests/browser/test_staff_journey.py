"""Issue 12's "done when", in Chromium: a council's staff and board run an engagement in the
browser, signed in with the council's own accounts, and another council sees none of it.

Two councils beside the demo one (whose pages keep taking access keys) sign their people in
through the same OpenID provider (node-oidc-provider). A member of staff of council A opens
an engagement and records a phone call with consent to a text message; a board member of A,
in a browser of their own, links it to a decision; the text reaches the person (the local
GOV.UK Notify server), Notify reports it delivered, and the member of staff reads the whole
chain. No page is ever sent an API key. Then a member of council B signs in and finds none
of it. Keyboard only, and axe-core on every page of ours.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from contextlib import ExitStack

import pytest
import requests

from services.decisions.entrypoints.copy import COPY as DECISIONS_COPY
from services.intake.entrypoints.copy import COPY as INTAKE_COPY
from shared.http.pages import SHARED_COPY
from shared.rules.domain import UK
from tests.support.board import find_and_pick_in_browser, record_decision_in_browser, write_decision_in_browser
from tests.support.browser import assert_accessible, press_button
from tests.support.council import Council
from tests.support.oidc_provider import account, configure, sign_in_in_browser, start_provider
from tests.support.stack import Stack, create_council, outcomes_cli
from tests.support.workspace import open_engagement_in_browser, read_chain_in_browser, record_phone_call_in_browser

COUNCIL_A, COUNCIL_A_NAME = "caerffili", "Caerphilly County Borough Council"
COUNCIL_B, COUNCIL_B_NAME = "torfaen", "Torfaen County Borough Council"
BOARD_NAME = "Libraries and Leisure Board"


def words(service_copy: dict, key: str, **values) -> str:
    text = service_copy["en"].get(key) or SHARED_COPY["en"][key]
    return text.format(**values) if values else text


@pytest.fixture(scope="module")
def councils(demo_council: Stack):
    """Councils A and B on the same provider; A's board exists (set up by its staff's case
    system with a key, as `make demo` does: there is no page for boards)."""
    keys_a = create_council(demo_council.ctx, COUNCIL_A, COUNCIL_A_NAME)
    outcomes_cli(demo_council.ctx, "tenants", "create", COUNCIL_B, "--name", COUNCIL_B_NAME)
    provider = start_provider(demo_council, (COUNCIL_A, COUNCIL_B))
    for tenant in (COUNCIL_A, COUNCIL_B):
        configure(demo_council, provider, tenant)
    board = requests.post(
        f"{demo_council.urls['decisions']}/v1/boards",
        headers={"Authorization": f"Bearer {keys_a['staff']}"},
        json={"name": BOARD_NAME, "remit": "Libraries, leisure centres and parks."},
        timeout=15,
    )
    assert board.status_code == 201, board.text
    return keys_a


class Browsers:
    """Separate browser profiles (intake and decisions share a cookie name on 127.0.0.1),
    each recording every request it makes, to show no API key ever leaves the browser."""

    def __init__(self, chromium, closing: ExitStack):
        self.chromium = chromium
        self.closing = closing
        self.requests: list[tuple[str, dict]] = []

    def open(self):
        context = self.chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        self.closing.callback(context.close)
        context.set_default_timeout(15_000)
        context.on("request", lambda request: self.requests.append((request.url, request.headers)))
        return context.new_page()

    def assert_no_key_sent(self, keys: dict[str, str]) -> None:
        for url, headers in self.requests:
            assert "authorization" not in {name.lower() for name in headers}, url
            assert not any(key in url or key in str(headers) for key in keys.values()), url


@pytest.fixture
def browsers(chromium):
    with ExitStack() as closing:
        yield Browsers(chromium, closing)


def open_visible(page, url: str) -> int:
    """Go to `url`; its status, once axe-core has found nothing wrong on it."""
    response = page.goto(url)
    assert_accessible(page)
    return response.status


def texts_to(stack: Stack, phone: str) -> list[dict]:
    digits = re.sub(r"\D", "", phone)
    return [r for r in stack.notify.received if r["kind"] == "sms" and re.sub(r"\D", "", r["phone_number"]) == digits]


def test_staff_and_the_board_of_one_council_run_an_engagement_signed_in_and_another_council_sees_none_of_it(
    demo_council, councils, browsers
):
    stack = demo_council
    intake, decisions = stack.urls["intake"], stack.urls["decisions"]
    today = dt.datetime.now(UK).date()
    title = f"Saturday opening at Bargoed library {uuid.uuid4().hex[:6]}"
    said = "Please open the library on Saturday mornings so I can bring my grandchildren."
    phone = "+44 7700 900987"  # Ofcom's drama range; no one else in the tier has it

    # A member of staff of council A signs in with their council account and opens an engagement.
    staff = browsers.open()
    sign_in_in_browser(staff, intake, COUNCIL_A, account(COUNCIL_A, "staff"), next_page="/workspace")
    assert staff.url.startswith(f"{intake}/workspace")
    assert_accessible(staff)
    press_button(staff, "main a[href^='/workspace/engagements/new']")
    assert_accessible(staff)
    open_engagement_in_browser(
        staff,
        title=title,
        service_area="Libraries",
        description="Should Bargoed library open on Saturday mornings?",
        can_change="the library's opening hours",
        cannot_change="the library's budget for the year",
        decision_maker=BOARD_NAME,
        feedback_due=today + dt.timedelta(days=30),
    )
    assert staff.locator("h1").inner_text() == title
    engagement_id = re.search(r"/workspace/engagements/([0-9a-f-]{36})", staff.url)[1]
    assert_accessible(staff)

    # They record a phone call, with consent to a text message, read back before saving.
    contribution_id = record_phone_call_in_browser(
        staff, intake, engagement_title=title, text=said, name="Ceri Caller", phone=phone
    )
    assert words(INTAKE_COPY, "workspace.chain.recorded") in staff.get_by_role("status").inner_text()
    reference = re.search(r"[A-Z]+-\d{4}-\d{6}", staff.locator("h1").inner_text())[0]
    assert reference.startswith(COUNCIL_A.upper())
    assert_accessible(staff)

    # A board member of council A, in a browser of their own, links it to a decision.
    board = browsers.open()
    sign_in_in_browser(board, decisions, COUNCIL_A, account(COUNCIL_A, "board"), next_page="/board/decisions/new")
    assert board.url.startswith(f"{decisions}/board/decisions/new")
    assert_accessible(board)

    def decisions_know_of_it() -> bool:  # the engagement and the call reach the board's pages as events
        board.reload()
        return title in board.locator("#engagement_id").inner_text()

    stack.wait_for(decisions_know_of_it, "the board's form to offer the new engagement", timeout=60)
    found = []

    def call_found() -> bool:
        board.goto(f"{decisions}/board/decisions/new")
        try:
            found[:] = find_and_pick_in_browser(board, engagement_title=title, words="Saturday mornings")
        except AssertionError:
            return False
        return True

    stack.wait_for(call_found, "the board's search to find the phone call", timeout=60)
    assert found == [said]
    assert reference in board.locator(".picked").inner_text()
    assert_accessible(board)
    decision_title = "Open Bargoed library on Saturday mornings"
    write_decision_in_browser(
        board,
        influence="You asked for Saturday mornings: the library will open from 9 until 1.",
        board_name=BOARD_NAME,
        title=decision_title,
        description="Bargoed library opens on Saturday mornings from next month.",
        decided_on=today,
        rationale="Families told us Saturday is the only morning they can come.",
    )
    decision_id = record_decision_in_browser(board)
    assert words(DECISIONS_COPY, "board.recorded.title") in board.locator("main").inner_text()
    assert reference in board.locator("main").inner_text()
    assert_accessible(board)

    # The person is told by text message, and GOV.UK Notify reports it delivered.
    def told() -> list[dict]:
        return [sms for sms in texts_to(stack, phone) if "9 until 1" in sms["personalisation"]["body"]]

    stack.wait_for(told, "the person to be sent a text about the decision", timeout=90)
    [text] = told()
    assert reference in text["personalisation"]["body"] and decision_title in text["personalisation"]["body"]
    for sms in texts_to(stack, phone):
        Council(stack).notify_receipt(sms)

    # The member of staff sees the whole chain: the decision, the message and its receipt.
    message_row = staff.locator(
        "tr", has=staff.locator("th", has_text=words(INTAKE_COPY, "workspace.kind.decision_linked"))
    )

    def chain_complete() -> bool:
        read_chain_in_browser(staff, intake, contribution_id)
        return message_row.count() == 1 and words(INTAKE_COPY, "workspace.message.delivered") in (
            message_row.inner_text()
        )

    stack.wait_for(chain_complete, "the chain page to show the decision's text delivered", timeout=90)
    chain = staff.locator("main").inner_text()
    decision_row = staff.locator("tr", has=staff.locator(f"a[href*='/board/decisions/{decision_id}']"))
    assert words(INTAKE_COPY, "outcome.adopted") in decision_row.inner_text()
    assert said in chain and "07700 900987" in chain  # the number as people write it
    assert_accessible(staff)

    # A member of council B signs in with the same provider and finds none of it.
    other = browsers.open()
    sign_in_in_browser(other, intake, COUNCIL_B, account(COUNCIL_B, "staff"), next_page="/workspace")
    assert other.url.startswith(f"{intake}/workspace")
    assert title not in other.locator("main").inner_text()
    assert_accessible(other)
    assert open_visible(other, f"{intake}/workspace/engagements/{engagement_id}") == 404
    assert open_visible(other, f"{intake}/workspace/contributions/{contribution_id}") == 404
    not_found = other.locator("main").inner_text()
    assert words(INTAKE_COPY, "not_found.title") in not_found
    assert said not in not_found and reference not in not_found and phone not in not_found
    assert open_visible(other, f"{intake}/workspace/contributions") == 200
    listed = other.locator("main").inner_text()
    assert reference not in listed and said not in listed
    assert open_visible(other, f"{intake}/workspace/contributions?engagement_id={engagement_id}") == 400
    assert reference not in other.locator("main").inner_text()

    sign_in_in_browser(other, decisions, COUNCIL_B, account(COUNCIL_B, "board"), next_page="/board")
    assert other.url.startswith(f"{decisions}/board")
    assert decision_title not in other.locator("main").inner_text()
    assert_accessible(other)
    for path in (f"/board/decisions/{decision_id}", f"/board/contributions/{contribution_id}"):
        assert open_visible(other, decisions + path) == 404
        page_text = other.locator("main").inner_text()
        assert words(DECISIONS_COPY, "not_found.title") in page_text
        assert decision_title not in page_text and said not in page_text and reference not in page_text

    browsers.assert_no_key_sent(councils)
