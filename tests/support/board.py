"""Driving the board's pages in a real browser (Playwright), keyboard only: find a
council's contributions on the new-decision form, pick them, write the decision, record it."""

from __future__ import annotations

import datetime as dt
import re

from tests.support.browser import choose_option, press_button, tab_to, type_date, type_into


def find_and_pick_in_browser(page, *, engagement_title: str, words: str, type_label: str | None = None) -> list[str]:
    """On the new-decision form: choose the engagement, search its contributions, tick the
    first one found and add it to the decision; the words of every contribution found."""
    choose_option(page, "#engagement_id", engagement_title)
    if type_label:
        choose_option(page, "#search_type", type_label)
    type_into(page, "#search_words", words)
    press_button(page, "button[value=search]")
    found = [quote.inner_text() for quote in page.locator(".result + .quote").all()]
    assert found, page.locator("main").inner_text()
    tab_to(page, "input[name=pick]")
    page.keyboard.press("Space")
    press_button(page, "button[value=pick]")
    return found


def write_decision_in_browser(
    page, *, influence: str, board_name: str, title: str, description: str, rationale: str, decided_on: dt.date
) -> None:
    """The picked contribution's influence and the decision itself, agreed (the first outcome)."""
    type_into(page, "#links-0-influence", influence)
    choose_option(page, "#board_id", board_name)
    type_into(page, "#title", title)
    type_into(page, "#description", description)
    type_date(page, "#decided_on", decided_on)
    tab_to(page, "input[name=outcome]")
    page.keyboard.press("Space")  # the first answer: agreed
    type_into(page, "#rationale", rationale)


def record_decision_in_browser(page) -> str:
    """Press "Record"; the new decision's id (its page, saying it was recorded, is open)."""
    press_button(page, "button[value=record]")
    assert "recorded=1" in page.url, page.locator("main").inner_text()
    return re.search(r"/board/decisions/([0-9a-f-]{36})", page.url)[1]
