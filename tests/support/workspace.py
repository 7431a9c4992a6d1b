"""Driving the staff workspace as a person would: sign in, fill a form, read a page.

The same steps for the unit tier (a Flask test client) and, through `form_for_*`, for a
browser: the lead's acceptance test signs in another way (OpenID Connect) and then calls
`record_by_phone` and `read_chain` with the signed-in client.
"""

from __future__ import annotations

import re

from tests.support import factories
from tests.support.page_checks import visible_text


class StaffBrowser:
    """A Flask test client signed in to intake's pages; posts carry the session's CSRF token."""

    def __init__(self, client, key: str | None = None):
        self.client = client
        self.csrf = ""
        if key is not None:
            sign_in_with_key(client, key)
        self.refresh_csrf()

    def refresh_csrf(self) -> None:
        with self.client.session_transaction() as session:
            self.csrf = session.get("csrf", "")

    def get(self, path: str, **query):
        return self.client.get(path, query_string=query or None)

    def post(self, path: str, form: dict, **kwargs):
        return self.client.post(path, data={**form, "csrf_token": self.csrf}, **kwargs)


def sign_in_with_key(client, key: str, next_page: str = "/workspace") -> None:
    """Today's sign-in form (an access key); OIDC sign-in replaces only this step."""
    response = client.post("/sign-in", data={"key": key, "next": next_page})
    assert response.status_code == 303, response.get_data(as_text=True)


def engagement_form(**overrides) -> dict:
    """The new-engagement form filled in as staff would, from the API's factory."""
    payload = factories.engagement_payload()
    form = {**payload, "can_change": "\n".join(payload["can_change"])}
    form["cannot_change"] = "\n".join(payload["cannot_change"])
    form["languages"] = ["en"]  # the boxes ticked
    form.update(overrides)
    return form


def phone_contribution_form(engagement_id: str, **overrides) -> dict:
    """A phone call recorded on someone's behalf, with consent to a text message."""
    person = factories.participant_payload(preferred_channel="sms")
    form = {
        "engagement_id": engagement_id,
        "channel": "phone",
        "type": "view",
        "text": "Please keep the library open on Saturday mornings.",
        "on_behalf_of": "1",
        "name": person["name"],
        "email": "",
        "phone": person["phone"],
        "consent_to_contact": "yes",
        "preferred_channel": "sms",
        "language": "en",
        "format": "standard",
    }
    form.update(overrides)
    return form


def record_by_phone(browser: StaffBrowser, engagement_id: str, **overrides) -> str:
    """Record a phone contribution through check-your-answers; the new contribution's id."""
    form = phone_contribution_form(engagement_id, **overrides)
    checked = browser.post("/workspace/contributions/new", {**form, "action": "check"})
    assert checked.status_code == 200, checked.get_data(as_text=True)
    saved = browser.post("/workspace/contributions/new", {**form, "action": "save"})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    return re.search(r"/workspace/contributions/([0-9a-f-]{36})", saved.headers["Location"])[1]


def read_chain(browser: StaffBrowser, contribution_id: str) -> str:
    """The contribution's chain page as the words a reader sees."""
    response = browser.get(f"/workspace/contributions/{contribution_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return visible_text(response.get_data(as_text=True))


def problems_on(html: str) -> dict[str, str]:
    """{field id: message} from the error summary."""
    summary = re.search(r'<div class="error-summary".*?</ul>', html, re.S)
    assert summary, "no error summary"
    return {
        target: visible_text(message) for target, message in re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary[0])
    }


# In a real browser (Playwright), keyboard only -------------------------------------------


def choose_radio(page, name: str, value: str, *, limit: int = 10) -> None:
    """Tab into a radio group and arrow to `value` (arrows select; Space selects the first)."""
    from tests.support.browser import tab_to

    tab_to(page, f"input[name={name}]")
    page.keyboard.press("Space")
    for _ in range(limit):
        if page.evaluate("() => document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{page.url}: no {value!r} in the {name} radios")


def record_phone_call_in_browser(
    page, intake_url: str, *, engagement_title: str, text: str, name: str, phone: str
) -> str:
    """A signed-in member of staff records a phone call with consent to a text message,
    reads the answers back and saves; the new contribution's id (its chain page is open)."""
    from tests.support.browser import choose_option, press_button, type_into

    page.goto(f"{intake_url}/workspace/contributions/new")
    choose_option(page, "#engagement_id", engagement_title)
    choose_radio(page, "channel", "phone")
    type_into(page, "#text", text)
    type_into(page, "#name", name)
    type_into(page, "#phone", phone)
    choose_radio(page, "consent_to_contact", "yes")
    choose_radio(page, "preferred_channel", "sms")
    press_button(page, "form button[type=submit]")
    read_back = page.locator("main").inner_text()
    assert page.locator("button[value=save]").count() == 1, read_back  # the check-your-answers page
    assert phone in read_back and text in read_back, read_back
    press_button(page, "button[value=save]")
    return re.search(r"/workspace/contributions/([0-9a-f-]{36})", page.url)[1]


def read_chain_in_browser(page, intake_url: str, contribution_id: str) -> str:
    """The contribution's chain page, as its words: decisions, messages and receipts."""
    page.goto(f"{intake_url}/workspace/contributions/{contribution_id}")
    return page.locator("main").inner_text()


def open_engagement_in_browser(
    page,
    *,
    title: str,
    service_area: str,
    description: str,
    can_change: str,
    cannot_change: str,
    decision_maker: str,
    feedback_due,
    welsh: bool = False,
) -> None:
    """On the new-engagement form: fill it in with the keyboard and save (the engagement's page opens)."""
    from tests.support.browser import press_button, tab_to, type_date, type_into

    type_into(page, "#title", title)
    type_into(page, "#service_area", service_area)
    type_into(page, "#description", description)
    type_into(page, "#can_change", can_change)
    type_into(page, "#cannot_change", cannot_change)
    type_into(page, "#decision_maker", decision_maker)
    type_date(page, "#feedback_due", feedback_due)
    if welsh:
        tab_to(page, "#languages-cy")
        page.keyboard.press("Space")
    press_button(page, "form button[type=submit]")
