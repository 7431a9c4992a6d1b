"""The pages in a real browser, against every service running on the demo council.

Debian's Chromium, driven by Playwright, opens what people open: a participant follows
the link in a message they received, reads their chain, switches to easy read and Welsh,
and answers "Did this make a difference?"; a board member signs in and records a
decision that sends real messages; staff read the dashboard. axe-core checks every page
in both languages and both formats, error states included, against WCAG 2.2 AA, and the
keyboard alone reaches every control and completes every form.

One module on purpose: the tests share one running system (`demo_council`), and the
suite spreads files over workers (`--dist loadfile`), so one file keeps it to one.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path

import pytest
import requests

from services.decisions.entrypoints.copy import COPY as DECISIONS_COPY
from services.intake.entrypoints.copy import COPY as INTAKE_COPY
from services.intake.entrypoints.public_copy import PUBLIC_COPY
from services.notifier.entrypoints.copy import COPY as NOTIFIER_COPY
from shared.http.pages import SHARED_COPY
from shared.rules.domain import UK
from tests.support.board import find_and_pick_in_browser, record_decision_in_browser, write_decision_in_browser
from tests.support.browser import (
    ROOT,
    assert_accessible,
    choose_option,
    press_button,
    tab_through,
    tab_to,
    type_into,
)
from tests.support.stack import Stack
from tests.support.workspace import (
    open_engagement_in_browser,
    read_chain_in_browser,
    record_phone_call_in_browser,
)

STATUS_LINK = re.compile(r"https?://\S+/status/[\w.-]+(?:\?[\w=&%.-]*)?")
UNSUBSCRIBE_LINK = re.compile(r"https?://\S+/v1/unsubscribe/[\w.-]+")
# Demo people (ops/demo.py) whose pages the tests open.
MARGARET = "margaret.ellis@example.org"  # English, standard; her view was partly adopted
PRIYA = "priya.shah@example.org"  # English, large print; her complaint was not adopted
GWEN = "gwen.pritchard@example.org"  # Welsh; her view was adopted
ELERI = "eleri.morgan@example.org"  # Welsh; no decision, and the feedback date has passed
TOM = "tom.baker@example.org"  # English, easy read; his question had no decision
ALUN = "alun.davies@example.org"  # Welsh, large print
FORUM = "castle.street.members.forum@example.org"  # a forum speaking for 14; nobody here answers for it


def copy(service_copy: dict, lang: str, key: str, **values) -> str:
    text = service_copy[lang].get(key) or SHARED_COPY[lang][key]
    return text.format(**values) if values else text


def status_copy(lang: str, key: str, **values) -> str:
    return copy(DECISIONS_COPY, lang, key, **values)


# Messages, as the SMTP server received them -------------------------------------------


def plain_text(message) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if body is not None else ""


def link_sent_to(stack: Stack, address: str, pattern: re.Pattern) -> str:
    """The first link matching `pattern` in a message `address` received (waits for one)."""
    found: list[str] = []

    def received() -> bool:
        for message in stack.smtp.messages():
            if address in str(message["To"]):
                text = plain_text(message) + " " + str(message.get("List-Unsubscribe", "")).strip("<>")
                found.extend(pattern.findall(text))
        return bool(found)

    stack.wait_for(received, f"a message to {address} with a link like {pattern.pattern}")
    return found[0].rstrip(".>")


def messages_to(stack: Stack, address: str) -> int:
    return sum(address in str(message["To"]) for message in stack.smtp.messages())


# The participant ----------------------------------------------------------------------


def contribution_id_on(page) -> str:
    return page.locator("section.contribution").first.get_attribute("id").removeprefix("contribution-")


def test_a_participant_follows_their_link_reads_the_chain_and_says_it_partly_made_a_difference(demo_council, page):
    stack = demo_council
    page.goto(link_sent_to(stack, MARGARET, STATUS_LINK))

    assert page.locator("h1").inner_text() == status_copy("en", "status.title")
    chain = page.locator("section.contribution").first
    assert "Even one Saturday a month would help." in chain.inner_text()
    assert (
        status_copy("en", "status.decided", title="Open the Trowbridge day centres on Saturdays") in chain.inner_text()
    )
    assert status_copy("en", "status.outcome", outcome=status_copy("en", "status.outcome.partly_adopted")) in (
        chain.inner_text()
    )
    assert "weekends are when you are most alone" in chain.inner_text()
    contribution_id = contribution_id_on(page)

    page.get_by_role("link", name=status_copy("en", "status.show_easy_read")).click()
    assert "format=easy_read" in page.url
    assert "easy-read" in page.locator("body").get_attribute("class")
    page.get_by_role("link", name=copy(DECISIONS_COPY, "en", "switch_language")).click()
    assert page.locator("html").get_attribute("lang") == "cy"
    assert page.locator("h1").inner_text() == status_copy("cy", "status.title")
    assert "easy-read" in page.locator("body").get_attribute("class")  # the layout chosen is kept

    section = page.locator(f"#contribution-{contribution_id}")
    section.get_by_label(status_copy("cy", "status.rate.partly"), exact=True).check()
    section.get_by_label(status_copy("cy", "status.rate.comment")).fill("Dau ddydd Sadwrn yn dda, ond nid digon.")
    section.get_by_role("button", name=re.compile(re.escape(status_copy("cy", "status.rate.button")))).click()

    thanks = page.get_by_role("status")
    assert status_copy("cy", "status.thanks.title") in thanks.inner_text()
    assert page.locator("html").get_attribute("lang") == "cy"
    assert page.get_by_label(status_copy("cy", "status.rate.partly"), exact=True).is_checked()

    def chain_rated() -> bool:
        answer = requests.get(
            f"{stack.urls['decisions']}/v1/contributions/{contribution_id}/outcome-chain",
            headers=stack.headers("staff"),
            timeout=10,
        ).json()
        return (answer.get("rating") or {}).get("rating") == "partly"

    stack.wait_for(chain_rated, "the rating in the outcome chain", timeout=20)

    # Staff see it on their dashboard (intake hears of it as an event).
    sign_in(page, stack, "intake", "staff", "/dashboard", "en")
    rated_row = page.locator("tr", has=page.locator("th", has_text=copy(INTAKE_COPY, "en", "dashboard.rated")))

    def dashboard_counts_it() -> bool:
        page.reload()
        found = re.search(r"(\d+) of (\d+)", rated_row.first.inner_text())
        return found is not None and int(found[1]) >= 1

    stack.wait_for(dashboard_counts_it, "the dashboard to count the rating", timeout=30)


def test_a_participant_can_answer_with_the_keyboard_alone(demo_council, page):
    page.goto(link_sent_to(demo_council, PRIYA, STATUS_LINK))
    contribution_id = contribution_id_on(page)

    tab_to(page, f"#rating-{contribution_id}-yes, #rating-{contribution_id}-partly, #rating-{contribution_id}-no")
    # Arrow keys move through a radio group; Space selects.
    while not page.evaluate("document.activeElement.value") == "no":
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("The boxes help a bit.")
    tab_to(page, f"#contribution-{contribution_id} button[type=submit]")
    page.keyboard.press("Enter")

    page.get_by_role("status").wait_for()
    assert page.get_by_label(status_copy("en", "status.rate.no"), exact=True).is_checked()


def test_a_participant_changes_how_we_contact_them_and_unsubscribes_from_a_message_s_links(demo_council, page):
    stack = demo_council
    text = lambda key: copy(NOTIFIER_COPY, "cy", key)  # noqa: E731 - Alun reads Welsh
    page.goto(link_sent_to(stack, ALUN, UNSUBSCRIBE_LINK))
    assert page.locator("h1").inner_text() == copy(NOTIFIER_COPY, "en", "unsubscribe.title")  # as the browser asks
    page.get_by_role("link", name=copy(NOTIFIER_COPY, "en", "switch_language")).click()
    assert page.locator("h1").inner_text() == text("unsubscribe.title")

    page.get_by_role("link", name=text("unsubscribe.change_instead")).click()
    assert page.locator("h1").inner_text() == text("preferences.title")
    page.get_by_label(text("preferences.format.easy_read"), exact=True).check()
    page.get_by_role("button", name=text("preferences.save")).click()
    assert text("preferences.saved.title") in page.get_by_role("status").inner_text()
    assert page.get_by_label(text("preferences.format.easy_read"), exact=True).is_checked()

    page.goto(with_query(link_sent_to(stack, ALUN, UNSUBSCRIBE_LINK), lang="cy"))
    page.get_by_role("button", name=text("unsubscribe.button")).click()
    assert page.locator("h1").inner_text() == text("unsubscribe.done.title")
    page.get_by_role("link", name=text("unsubscribe.start_again")).click()
    assert page.get_by_label(text("preferences.messages.stop"), exact=True).is_checked()


# The board --------------------------------------------------------------------------


def board_copy(lang: str, key: str, **values) -> str:
    return copy(DECISIONS_COPY, lang, key, **values)


def test_a_board_member_records_a_decision_with_the_keyboard_alone_and_the_people_are_told(demo_council, page):
    stack = demo_council
    told_before = messages_to(stack, TOM)
    page.goto(f"{stack.urls['decisions']}/board/decisions/new")  # not signed in: the sign-in page first
    type_into(page, "#key", stack.keys["board"])
    press_button(page, "form button[type=submit]")
    assert page.locator("h1").inner_text() == board_copy("en", "board.new.title")

    (found,) = find_and_pick_in_browser(
        page,
        engagement_title="Day services for older people in Trowbridge",
        type_label=board_copy("en", "public.type.question"),
        words="singing",
    )
    assert "singing group" in found

    write_decision_in_browser(
        page,
        influence="You asked about the singing group: it keeps its Tuesday slot.",
        board_name="Adult Social Care Partnership Board",
        title="Keep the singing group on Tuesdays",
        description="The singing group keeps its Tuesday afternoon at Castle Street.",
        decided_on=dt.datetime.now(UK).date(),
        rationale="Members told us it is the best part of their week.",
    )
    press_button(page, "button[value=add-change]")

    choose_option(page, "#resource_changes-0-kind", board_copy("en", "public.kind.budget"))
    type_into(page, "#resource_changes-0-description", "A music leader for the Tuesday group")
    type_into(page, "#resource_changes-0-amount", "1200.00")
    type_into(page, "#resource_changes-0-currency", "GBP")
    record_decision_in_browser(page)

    assert board_copy("en", "board.recorded.title") in page.locator("main").inner_text()
    assert "Keep the singing group on Tuesdays" in page.locator("h1").inner_text()

    def tom_told() -> bool:
        newest = [m for m in demo_council.smtp.messages() if TOM in str(m["To"])]
        return len(newest) > told_before and any("singing group" in plain_text(m) for m in newest[told_before:])

    stack.wait_for(tom_told, "the person whose question was answered to be told, by email")


# The staff workspace, keyboard only -----------------------------------------------------


def staff_copy(lang: str, key: str, **values) -> str:
    return copy(INTAKE_COPY, lang, key, **values)


def sign_in_to_workspace(page, stack: Stack, path: str) -> None:
    """Not signed in: the sign-in page first, then where the link led (keyboard only)."""
    page.goto(f"{stack.urls['intake']}{path}")
    type_into(page, "#key", stack.keys["staff"])
    press_button(page, "form button[type=submit]")


def test_staff_open_change_and_close_an_engagement_with_the_keyboard_alone(demo_council, page):
    stack = demo_council
    sign_in_to_workspace(page, stack, "/workspace/engagements/new")
    assert page.locator("h1").inner_text() == staff_copy("en", "workspace.engagement.new.title")

    open_engagement_in_browser(
        page,
        title="Keyboard engagement about bus stops",
        service_area="Highways",
        description="Where should the new bus shelters go?",
        can_change="where the shelters go",
        cannot_change="the number of shelters",
        decision_maker="Highways Committee",
        feedback_due=dt.datetime.now(UK).date() + dt.timedelta(days=30),
        welsh=True,
    )
    assert page.locator("h1").inner_text() == "Keyboard engagement about bus stops"
    assert staff_copy("en", "workspace.language.cy") in page.locator("main").inner_text()

    press_button(page, "a[href*='/edit']")
    tab_to(page, "#title")
    page.keyboard.press("Control+A")
    page.keyboard.type("Keyboard engagement about bus shelters")
    press_button(page, "form button[type=submit]")
    assert staff_copy("en", "workspace.engagement.saved") in page.get_by_role("status").inner_text()

    press_button(page, "form[action*='/close'] button")
    assert staff_copy("en", "workspace.engagement.closed") in page.get_by_role("status").inner_text()
    press_button(page, "nav a[href^='/workspace?']")
    last_row = page.locator("tbody tr").last.inner_text()
    assert "Keyboard engagement about bus shelters" in last_row
    assert staff_copy("en", "workspace.state.closed") in last_row


def test_staff_record_a_phone_call_with_sms_consent_and_find_its_chain_with_the_keyboard_alone(demo_council, page):
    stack = demo_council
    sign_in_to_workspace(page, stack, "/workspace")

    contribution_id = record_phone_call_in_browser(
        page,
        stack.urls["intake"],
        engagement_title="Day services for older people in Trowbridge",
        text="A minibus stop outside the surgery would help people who phone in.",
        name="Caller Keyboard",
        phone="+44 7700 900555",
    )

    assert staff_copy("en", "workspace.chain.recorded") in page.get_by_role("status").inner_text()
    reference = re.search(r"[A-Z]+-\d{4}-\d{6}", page.locator("h1").inner_text())[0]

    press_button(page, "nav a[href^='/workspace/contributions?']")
    choose_option(page, "#channel", staff_copy("en", "workspace.channel.phone"))
    press_button(page, "form[method=get] button[type=submit]")
    press_button(page, f"main a[href^='/workspace/contributions/{contribution_id}']")
    assert reference in page.locator("h1").inner_text()
    chain = read_chain_in_browser(page, stack.urls["intake"], contribution_id)
    assert "A minibus stop outside the surgery" in chain and "07700 900555" in chain  # as people write it
    assert staff_copy("en", "workspace.contact.sms") in chain


def test_staff_import_a_file_and_read_the_dead_letters_with_the_keyboard_alone(demo_council, page, tmp_path):
    stack = demo_council
    sign_in_to_workspace(page, stack, "/workspace/import")

    tab_to(page, "a[href='/workspace/import/template.csv']")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    template = tmp_path / "template.csv"
    download.value.save_as(template)
    columns = template.read_text().strip().split(",")
    common = {"language": "en", "format": "standard", "type": "view", "on_behalf_of": "1"}
    rows = [
        {**common, "name": "Paper Keyboard", "preferred_channel": "none", "consent_to_contact": "no"}
        | {"text": "The library steps are too steep."},
        {**common, "name": "Paper Keyboard Two", "preferred_channel": "email", "consent_to_contact": "yes"}
        | {"text": "No email given but consent."},
    ]
    refused_file, good_file = tmp_path / "refused.csv", tmp_path / "good.csv"
    for path, written in ((refused_file, rows), (good_file, rows[:1])):
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(written)

    choose_option(page, "#engagement_id", "Day services for older people in Trowbridge")
    tab_to(page, "#file")
    page.locator("#file").set_input_files(str(refused_file))  # the file chooser is the system's own
    press_button(page, "form button[type=submit]")
    report = page.locator("main").inner_text()
    assert staff_copy("en", "workspace.import.refused") in report
    assert "Required when the preferred channel is email." in report

    choose_option(page, "#engagement_id", "Day services for older people in Trowbridge")
    tab_to(page, "#file")
    page.locator("#file").set_input_files(str(good_file))
    press_button(page, "form button[type=submit]")
    assert staff_copy("en", "workspace.import.done") in page.get_by_role("status").inner_text()

    press_button(page, "nav a[href^='/workspace/dead-letters']")
    assert page.locator("h1").inner_text() == staff_copy("en", "workspace.dead_letters.title")


# Every page, in both languages and both formats: axe-core and the keyboard -----------


def with_query(url: str, **values: str | None) -> str:
    query = "&".join(f"{name}={value}" for name, value in values.items() if value)
    return url + ("&" if "?" in url else "?") + query if query else url


def sign_in(page, stack: Stack, service: str, role: str, path: str, lang: str) -> None:
    """Through the service's sign-in page, as a member of staff or a board member does."""
    page.goto(with_query(f"{stack.urls[service]}{path}", lang=lang))
    if "/sign-in" not in page.url:
        return  # signed in already, in this browser
    page.get_by_label(copy(DECISIONS_COPY, lang, "sign_in.key")).fill(stack.keys[role])
    page.get_by_role("button", name=copy(DECISIONS_COPY, lang, "sign_in.button")).click()
    page.wait_for_url(re.compile(re.escape(path)))


def open_status(address: str):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        link = link_sent_to(stack, address, STATUS_LINK).split("?")[0]
        page.goto(with_query(link, lang=lang, format="easy_read" if easy_read else None))

    return opener


def open_status_rating_refused(stack: Stack, page, lang: str, easy_read: bool) -> None:
    """The rating form sent with nothing chosen: the error summary and the field's message."""
    open_status(FORUM)(stack, page, lang, easy_read)
    page.locator("form.rating button[type=submit]").first.click()
    page.locator(".error-summary").wait_for()


def open_sign_in(service: str, *, refused: bool = False):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        page.goto(with_query(f"{stack.urls[service]}/sign-in", lang=lang))
        if refused:
            page.get_by_role("button", name=copy(DECISIONS_COPY, lang, "sign_in.button")).click()
            page.locator(".error-summary").wait_for()

    return opener


def api_items(stack: Stack, service: str, path: str, role: str = "staff") -> list[dict]:
    answer = requests.get(f"{stack.urls[service]}{path}", headers=stack.headers(role), timeout=10)
    answer.raise_for_status()
    return answer.json()["items"]


def engagement_id(stack: Stack, title_start: str) -> str:
    return next(e["id"] for e in api_items(stack, "intake", "/v1/engagements") if e["title"].startswith(title_start))


def demo_decision(stack: Stack) -> dict:
    """The demo's decision with a budget change carried through to implemented."""
    decisions = api_items(stack, "decisions", "/v1/decisions?per_page=200")
    chosen = next(d for d in decisions if d["title"] == "Open the Trowbridge day centres on Saturdays")
    return requests.get(
        f"{stack.urls['decisions']}/v1/decisions/{chosen['id']}", headers=stack.headers("staff"), timeout=10
    ).json()


def open_public(path_for):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        page.goto(with_query(stack.urls["decisions"] + path_for(stack), lang=lang))

    return opener


def open_signed_in(service: str, role: str, path_for, *, then=None):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        path = path_for(stack)
        sign_in(page, stack, service, role, path.split("?")[0], lang)
        page.goto(with_query(stack.urls[service] + path, lang=lang))
        if then:
            then(page)

    return opener


def record_nothing(page) -> None:
    """The decision form recorded empty: every required field's message."""
    page.locator("button[value=record]").click()
    page.locator(".error-summary").wait_for()


def search_and_pick(page) -> None:
    """Search results ticked and added, with a change being written: the longest form."""
    page.locator("#engagement_id").select_option(label="Day services for older people in Trowbridge")
    page.locator("button[value=search]").click()
    page.locator("input[name=pick]").first.check()
    page.locator("button[value=pick]").click()
    page.locator("button[value=add-change]").click()
    page.locator("#resource_changes-0-kind").wait_for()


def open_unsubscribe(*, done: bool):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        page.goto(with_query(link_sent_to(stack, ALUN, UNSUBSCRIBE_LINK), lang=lang))
        if done:
            page.locator("main form button[type=submit]").click()
            page.locator("main a").last.wait_for()

    return opener


def open_preferences(stack: Stack, page, lang: str, easy_read: bool) -> None:
    open_unsubscribe(done=False)(stack, page, lang, easy_read)
    page.locator("main a").last.click()
    page.locator("main form").wait_for()


def submit_empty(page) -> None:
    """A workspace form sent with nothing filled in: the error summary and each field's message."""
    page.locator("main form button[type=submit]").first.click()
    page.locator(".error-summary").wait_for()


def fill_and_check(page) -> None:
    """A phone call typed in and read back: the check-your-answers page."""
    page.locator("#engagement_id").select_option(label="Day services for older people in Trowbridge")
    page.locator("#text").fill("The bus to the day centre is often late.")
    page.locator("#consent_to_contact-no").check()
    page.locator("#preferred_channel-none").check()
    page.locator("main form button[type=submit]").click()
    page.locator("button[value=save]").wait_for()


def demo_contribution_id(stack: Stack) -> str:
    return demo_decision(stack)["links"][0]["contribution_id"]


# name: (opens the page in a state, has an easy-read format)
PAGES = {
    "status": (open_status(MARGARET), True),
    "status-welsh-speaker": (open_status(GWEN), True),
    "status-overdue": (open_status(ELERI), True),
    "status-rating-refused": (open_status_rating_refused, True),
    "you-said-we-did": (
        open_public(lambda s: f"/engagements/{engagement_id(s, 'Day services')}/you-said-we-did"),
        False,
    ),
    "you-said-we-did-welsh-engagement": (
        open_public(lambda s: f"/engagements/{engagement_id(s, 'Seibiant')}/you-said-we-did"),
        False,
    ),
    "you-said-we-did-council": (open_public(lambda s: f"/councils/{s.tenant}/you-said-we-did"), False),
    "decisions-sign-in": (open_sign_in("decisions"), False),
    "decisions-sign-in-refused": (open_sign_in("decisions", refused=True), False),
    "board": (open_signed_in("decisions", "board", lambda s: "/board"), False),
    "board-new-decision": (open_signed_in("decisions", "board", lambda s: "/board/decisions/new"), False),
    "board-new-decision-refused": (
        open_signed_in("decisions", "board", lambda s: "/board/decisions/new", then=record_nothing),
        False,
    ),
    "board-new-decision-picked": (
        open_signed_in("decisions", "board", lambda s: "/board/decisions/new", then=search_and_pick),
        False,
    ),
    "board-decision": (
        open_signed_in("decisions", "board", lambda s: f"/board/decisions/{demo_decision(s)['id']}"),
        False,
    ),
    "board-outcome-chain": (
        open_signed_in(
            "decisions", "board", lambda s: f"/board/contributions/{demo_decision(s)['links'][0]['contribution_id']}"
        ),
        False,
    ),
    "board-resource-change": (
        open_signed_in(
            "decisions", "board", lambda s: f"/board/resource-changes/{demo_decision(s)['resource_changes'][0]['id']}"
        ),
        False,
    ),
    "dashboard": (open_signed_in("intake", "staff", lambda s: "/dashboard"), False),
    "dashboard-refused": (
        open_signed_in("intake", "staff", lambda s: "/dashboard?from=2027-03-31&to=2026-01-01"),
        False,
    ),
    "workspace": (open_signed_in("intake", "staff", lambda s: "/workspace"), False),
    "workspace-new-engagement": (open_signed_in("intake", "staff", lambda s: "/workspace/engagements/new"), False),
    "workspace-new-engagement-refused": (
        open_signed_in("intake", "staff", lambda s: "/workspace/engagements/new", then=submit_empty),
        False,
    ),
    "workspace-engagement": (
        open_signed_in("intake", "staff", lambda s: f"/workspace/engagements/{engagement_id(s, 'Day services')}"),
        False,
    ),
    "workspace-edit-engagement": (
        open_signed_in("intake", "staff", lambda s: f"/workspace/engagements/{engagement_id(s, 'Day services')}/edit"),
        False,
    ),
    "workspace-record": (open_signed_in("intake", "staff", lambda s: "/workspace/contributions/new"), False),
    "workspace-record-refused": (
        open_signed_in("intake", "staff", lambda s: "/workspace/contributions/new", then=submit_empty),
        False,
    ),
    "workspace-check": (
        open_signed_in("intake", "staff", lambda s: "/workspace/contributions/new", then=fill_and_check),
        False,
    ),
    "workspace-contributions": (open_signed_in("intake", "staff", lambda s: "/workspace/contributions"), False),
    "workspace-chain": (
        open_signed_in("intake", "staff", lambda s: f"/workspace/contributions/{demo_contribution_id(s)}"),
        False,
    ),
    "workspace-import": (open_signed_in("intake", "staff", lambda s: "/workspace/import"), False),
    "workspace-dead-letters": (open_signed_in("intake", "staff", lambda s: "/workspace/dead-letters"), False),
    "intake-sign-in": (open_sign_in("intake"), False),
    "intake-sign-in-refused": (open_sign_in("intake", refused=True), False),
    "preferences": (open_preferences, False),
    "unsubscribe": (open_unsubscribe(done=False), False),
    "unsubscribe-done": (open_unsubscribe(done=True), False),
}
VARIANTS = [(lang, easy_read) for lang in ("en", "cy") for easy_read in (False, True)]


def page_variants():
    for name, (_, has_easy_read) in PAGES.items():
        for lang, easy_read in VARIANTS:
            if easy_read and not has_easy_read:
                continue
            yield pytest.param(name, lang, easy_read, id=f"{name}-{lang}{'-easy-read' if easy_read else ''}")


@pytest.mark.parametrize(("name", "lang", "easy_read"), list(page_variants()))
def test_every_page_meets_wcag_2_2_aa_and_every_control_is_reached_by_the_keyboard(
    demo_council, page, name, lang, easy_read
):
    opener, _ = PAGES[name]
    opener(demo_council, page, lang, easy_read)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").count() == 1

    assert_accessible(page)
    if lang == "en":  # the same controls in the same order in Welsh
        tab_through(page)


# Pictures for the README ----------------------------------------------------------------


def heading(service_copy: dict, key: str):
    return lambda stack: copy(service_copy, "en", key)


def engagement_title(stack: Stack, title_start: str) -> str:
    return next(e["title"] for e in api_items(stack, "intake", "/v1/engagements") if e["title"].startswith(title_start))


# file name: (page, language, easy read, the page's heading: what the picture must show)
SCREENSHOTS = {
    "status": ("status", "en", False, heading(DECISIONS_COPY, "status.title")),
    "status-easy-read": ("status", "en", True, heading(DECISIONS_COPY, "status.title")),
    "status-cy": ("status-welsh-speaker", "cy", False, lambda s: status_copy("cy", "status.title")),
    "you-said-we-did": (
        "you-said-we-did",
        "en",
        False,
        lambda s: status_copy("en", "public.title", engagement=engagement_title(s, "Day services")),
    ),
    "board-new-decision": ("board-new-decision-picked", "en", False, heading(DECISIONS_COPY, "board.new.title")),
    "board-decision": ("board-decision", "en", False, lambda s: demo_decision(s)["title"]),
    "dashboard": ("dashboard", "en", False, heading(INTAKE_COPY, "dashboard.title")),
    "workspace": ("workspace", "en", False, heading(INTAKE_COPY, "workspace.engagements.title")),
    "workspace-record": ("workspace-record", "en", False, heading(INTAKE_COPY, "workspace.record.title")),
    "workspace-check": ("workspace-check", "en", False, heading(INTAKE_COPY, "workspace.check.title")),
    "workspace-contributions": (
        "workspace-contributions",
        "en",
        False,
        heading(INTAKE_COPY, "workspace.contributions.title"),
    ),
    "workspace-import": ("workspace-import", "en", False, heading(INTAKE_COPY, "workspace.import.title")),
    "preferences": ("preferences", "en", False, heading(NOTIFIER_COPY, "preferences.title")),
    "unsubscribe": ("unsubscribe", "en", False, heading(NOTIFIER_COPY, "unsubscribe.title")),
    "sign-in": ("decisions-sign-in", "en", False, heading(DECISIONS_COPY, "sign_in.title")),
}


@pytest.mark.parametrize("file_name", SCREENSHOTS)
def test_screenshots_show_the_pages_they_are_named_for(demo_council, page, file_name):
    """Each README picture's page, opened in a fresh browser as the person who sees it (staff
    for the dashboard, the board for board pages), shows that page's heading, not a refusal;
    with SCREENSHOTS_DIR set (`make screenshots`: docs/screenshots/) the picture is taken,
    from the demo as a newcomer's `make run` seeds it."""
    name, lang, easy_read, expected_heading = SCREENSHOTS[file_name]
    opener, _ = PAGES[name]
    opener(demo_council, page, lang, easy_read)
    assert page.locator("h1").inner_text().strip() == expected_heading(demo_council)

    if os.environ.get("SCREENSHOTS_DIR"):
        directory = Path(os.environ["SCREENSHOTS_DIR"])
        if not directory.is_absolute():
            directory = ROOT / directory
        directory.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        path = directory / f"{file_name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0


# The public "have your say" form (intake) -------------------------------------------------


def public_copy(lang: str, key: str, **values) -> str:
    return copy({lang: {**INTAKE_COPY[lang], **PUBLIC_COPY[lang]}}, lang, key, **values)


def form_path(stack: Stack, title_start: str = "Day services") -> str:
    return f"/engagements/{engagement_id(stack, title_start)}/have-your-say"


def test_a_person_has_their_say_in_welsh_easy_read_with_the_keyboard_alone_and_staff_count_it(demo_council, page):
    stack = demo_council
    address = "bethan.rhys@example.org"
    page.goto(with_query(f"{stack.urls['intake']}/councils/{stack.tenant}/engagements", lang="cy", format="easy_read"))
    title = engagement_title(stack, "Day services")
    press_button(page, f"a[href^='{form_path(stack)}']")
    assert page.locator("h1").inner_text() == title
    assert "easy-read" in page.locator("body").get_attribute("class")
    text = page.locator("main").inner_text()  # what is asked, and when they will hear, before the form
    assert text.index(public_copy("cy", "form.asking")) < text.index(public_copy("cy", "form.your_view"))

    type_into(page, "#text", "Mae angen bws i'r ganolfan ddydd ar ddydd Sadwrn.")
    tab_to(page, "#channel-email")
    page.keyboard.press("Space")
    type_into(page, "#email", address)
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    assert page.locator("#format-easy_read").is_checked()  # the layout they read in, for their messages
    tab_to(page, "#equality_age_band-under_16")
    for _ in range(6):  # to 65 to 74
        page.keyboard.press("ArrowDown")
    tab_to(page, "#equality_welsh_speaker-yes")
    page.keyboard.press("Space")
    press_button(page, "button[type=submit]")

    thanks = page.get_by_role("status")
    assert public_copy("cy", "thanks.title.easy") in thanks.inner_text()
    reference = page.locator(".reference").inner_text()
    assert reference.startswith(stack.tenant.upper())
    assert_accessible(page)

    def acknowledged() -> bool:
        return any(address in str(m["To"]) and reference in plain_text(m) for m in stack.smtp.messages())

    stack.wait_for(acknowledged, "the acknowledgement of the form's view", timeout=30)

    engagement = engagement_id(stack, "Day services")
    sign_in(page, stack, "intake", "staff", "/dashboard", "en")
    page.goto(f"{stack.urls['intake']}/dashboard?engagement_id={engagement}&lang=en")
    table = page.locator(  # the table of numbers, not the chart's
        "table:has(thead)", has=page.locator("caption", has_text=copy(INTAKE_COPY, "en", "question.welsh_speaker"))
    )
    row = table.locator("tr", has=page.locator("th", has_text="Yes"))
    assert copy(INTAKE_COPY, "en", "dashboard.fewer_than_5") in row.inner_text()
    age = page.locator(
        "table:has(thead)", has=page.locator("caption", has_text=copy(INTAKE_COPY, "en", "question.age_band"))
    )
    assert "65 to 74" in age.inner_text()


def test_a_view_sent_empty_shows_the_error_summary_and_the_keyboard_reaches_the_field(demo_council, page):
    stack = demo_council
    page.goto(stack.urls["intake"] + form_path(stack))
    press_button(page, "button[type=submit]")

    summary = page.locator(".error-summary")
    assert public_copy("en", "form.error.text", max="10,000") in summary.inner_text()
    tab_to(page, ".error-summary a[href='#text']")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "text"


def open_form_page(kind: str):
    def opener(stack: Stack, page, lang: str, easy_read: bool) -> None:
        paths = {
            "list": lambda: f"/councils/{stack.tenant}/engagements",
            "form": lambda: form_path(stack),
            "refused": lambda: form_path(stack),
            "closed": lambda: form_path(stack, "Seibiant"),
            "unknown": lambda: "/engagements/no-such-engagement/have-your-say",
        }
        page.goto(
            with_query(stack.urls["intake"] + paths[kind](), lang=lang, format="easy_read" if easy_read else None)
        )
        if kind == "refused":
            page.locator("#consent").check()
            page.locator("#equality_sex-male").check()
            page.locator("button[type=submit]").click()
            page.locator(".error-summary").wait_for()

    return opener


FORM_PAGES = ("list", "form", "refused", "closed", "unknown")


@pytest.mark.parametrize(("kind", "lang", "easy_read"), [(k, *v) for k in FORM_PAGES for v in VARIANTS])
def test_every_public_form_page_meets_wcag_2_2_aa_and_the_keyboard_reaches_every_control(
    demo_council, page, kind, lang, easy_read
):
    open_form_page(kind)(demo_council, page, lang, easy_read)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").count() == 1

    assert_accessible(page)
    if lang == "en":
        tab_through(page)


# Issue 13, done: a Welsh easy-read view by post, counted, decided, and answered by letter ------

WELSH_EASY_READ_DECISION_SUBJECT = "Beth ddigwyddodd i'r hyn a ddywedoch"  # notifier cy/easy_read/decision_linked


def contribution_with_reference(stack: Stack, engagement: str, reference: str) -> dict:
    found = api_items(stack, "intake", f"/v1/contributions?engagement_id={engagement}&per_page=100")
    return next(c for c in found if c["reference"] == reference)


def test_a_welsh_easy_read_view_by_post_is_counted_decided_and_answered_by_letter(demo_council, page):
    stack = demo_council
    engagement = engagement_id(stack, "Day services")
    words = "Mae angen bws o Benparcau i'r ganolfan ddydd ar ddydd Sadwrn."
    rationale = "Dywedodd pobl Penparcau fod angen bws arnyn nhw."

    # A person sends their view through the public form, in Welsh easy read, asking for a letter.
    page.goto(with_query(f"{stack.urls['intake']}{form_path(stack)}", lang="cy", format="easy_read"))
    assert_accessible(page)
    type_into(page, "#text", words)
    type_into(page, "#name", "Nia Hughes")
    tab_to(page, "#channel-email")
    page.keyboard.press("ArrowDown")  # text message
    page.keyboard.press("ArrowDown")  # a letter
    assert page.locator("#channel-post").is_checked()
    type_into(page, "#address_line_1", "3 Heol y Dderwen")
    type_into(page, "#address_town", "Aberystwyth")
    type_into(page, "#postcode", "sy23 3ab")
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    assert page.locator("#format-easy_read").is_checked()
    tab_to(page, "#equality_disability-yes")
    page.keyboard.press("Space")
    tab_to(page, "#equality_welsh_speaker-yes")
    page.keyboard.press("Space")
    press_button(page, "button[type=submit]")

    assert public_copy("cy", "thanks.title.easy") in page.get_by_role("status").inner_text()
    reference = page.locator(".reference").inner_text()
    assert_accessible(page)

    # Staff see it on the dashboard, its equality answers counted, and too few to show a number.
    sign_in(page, stack, "intake", "staff", "/dashboard", "en")
    page.goto(f"{stack.urls['intake']}/dashboard?engagement_id={engagement}&lang=en")
    assert_accessible(page)
    for question in ("welsh_speaker", "disability"):
        table = page.locator(
            "table:has(thead)", has=page.locator("caption", has_text=copy(INTAKE_COPY, "en", f"question.{question}"))
        )
        row = table.locator("tr", has=page.locator("th", has_text="Yes"))
        assert copy(INTAKE_COPY, "en", "dashboard.fewer_than_5") in row.inner_text()

    # The board finds the view through its pages and decides on it.
    contribution = contribution_with_reference(stack, engagement, reference)
    stack.wait_for(
        lambda: (
            requests.get(
                f"{stack.urls['decisions']}/v1/contributions/{contribution['id']}/outcome-chain",
                headers=stack.headers("staff"),
                timeout=10,
            ).ok
        ),
        "the decisions service to know the form's view",
    )
    board_member = page.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    board = board_member.new_page()  # another person, in their own browser
    board.set_default_timeout(15_000)
    board.goto(f"{stack.urls['decisions']}/board/decisions/new")
    type_into(board, "#key", stack.keys["board"])
    press_button(board, "form button[type=submit]")
    assert_accessible(board)
    choose_option(board, "#engagement_id", engagement_title(stack, "Day services"))
    choose_option(board, "#search_type", board_copy("en", "public.type.view"))
    type_into(board, "#search_words", "Benparcau")
    press_button(board, "button[value=search]")
    assert_accessible(board)
    (found,) = board.locator(".result").all()
    assert reference in found.inner_text()
    assert "Benparcau" in board.locator(".quote").first.inner_text()
    tab_to(board, "input[name=pick]")
    board.keyboard.press("Space")
    press_button(board, "button[value=pick]")

    write_decision_in_browser(
        board,
        influence="Fe ofynnoch chi am fws: bydd bws ar ddydd Sadwrn.",
        board_name="Adult Social Care Partnership Board",
        title="Bws dydd Sadwrn o Benparcau",
        description="Bydd bws yn mynd o Benparcau i'r ganolfan ddydd bob dydd Sadwrn.",
        rationale=rationale,
        decided_on=dt.datetime.now(UK).date(),
    )
    record_decision_in_browser(board)
    assert_accessible(board)
    board_member.close()

    # The local Notify server has the Welsh easy-read letter, with the decision and the reason.
    letters: list[dict] = []

    def letter_sent() -> bool:
        letters[:] = [
            sent["personalisation"]
            for sent in stack.notify.letters()
            if sent["personalisation"].get("subject") == WELSH_EASY_READ_DECISION_SUBJECT
            and rationale in sent["personalisation"].get("body", "")
        ]
        return bool(letters)

    stack.wait_for(letter_sent, "the Welsh easy-read letter with the decision", timeout=60)
    [letter] = letters
    assert [letter[f"address_line_{n}"] for n in range(1, 5)] == [
        "Nia Hughes",
        "3 Heol y Dderwen",
        "Aberystwyth",
        "SY23 3AB",
    ]
    assert "Fe wnaethon ni benderfyniad: Bws dydd Sadwrn o Benparcau." in letter["body"]
    assert f"Dyma pam: {rationale}" in letter["body"]
    assert reference in letter["body"]
