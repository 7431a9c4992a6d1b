"""Every message in every language and format renders, honestly and within SMS limits."""

from __future__ import annotations

import pytest

from services.notifier.adapters.templates import MISSING_TRANSLATIONS, Renderer
from services.notifier.domain.model import MAX_SMS_SEGMENTS, sms_segments
from shared.rules.constants import MESSAGE_KINDS, OUTCOME_MESSAGE_KINDS

STATUS_URL = "https://outcomes.example.gov.uk/status/eyJ0IjoiZGVtbyIsInAiOiIxMjMifQ.signature"


def context(**overrides) -> dict:
    values = {
        "name": "Ann Example",
        "reference": "DEMO-2026-000123",
        "type": "view",
        "engagement_title": "Day services review",
        "can_change": ["opening hours", "activities"],
        "cannot_change": ["the total budget"],
        "decision_maker": "Adult Social Care Partnership Board",
        "feedback_due": "2027-03-31",
        "status_url": STATUS_URL,
        "decision_title": "Saturday opening",
        "outcome": "partly_adopted",
        "rationale": "The budget covers two Saturdays a month.",
        "influence": "You told us weekends are the loneliest time.",
        "revisit_on": None,
        "changes": [{"description": "Saturday opening", "status": "planned"}],
        "change_description": "Saturday opening",
        "change_status": "implemented",
        "change_note": "Open from 5 April.",
        "reason": "The minutes were corrected.",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("format_", ["standard", "easy_read", "large_print"])
def test_every_message_renders_in_every_language_and_format(kind, language, format_):
    rendered = Renderer().render(kind, language=language, format_=format_, context=context())

    assert rendered.language == language
    assert rendered.subject and rendered.text and rendered.html
    assert STATUS_URL in rendered.text and STATUS_URL in rendered.sms
    assert sms_segments(rendered.sms) <= MAX_SMS_SEGMENTS
    assert ("font-size: 24px" in rendered.html) == (format_ == "large_print")


def test_welsh_dates_and_outcomes_are_in_welsh():
    rendered = Renderer().render("decision_linked", language="cy", format_="standard", context=context())
    assert "wedi'i gytuno'n rhannol" in rendered.text
    acknowledgement = Renderer().render("acknowledgement", language="cy", format_="standard", context=context())
    assert "31 Mawrth 2027" in acknowledgement.text


def test_a_missing_translation_falls_back_to_english_and_is_counted():
    before = MISSING_TRANSLATIONS.labels("pl", "standard", "acknowledgement")._value.get()
    rendered = Renderer().render("acknowledgement", language="pl", format_="standard", context=context())
    assert rendered.language == "en"
    assert rendered.subject.startswith("We have received your view")
    assert MISSING_TRANSLATIONS.labels("pl", "standard", "acknowledgement")._value.get() == before + 1


def test_a_long_sms_is_shortened_but_keeps_its_link():
    long_influence = "Your detailed account of the transport problems shaped every part of this. " * 20
    rendered = Renderer().render(
        "decision_linked", language="cy", format_="standard", context=context(influence=long_influence)
    )
    assert sms_segments(rendered.sms) <= MAX_SMS_SEGMENTS
    assert rendered.sms.endswith(STATUS_URL)


def test_complaints_state_the_statutory_timescale_and_other_kinds_do_not():
    complaint = Renderer().render(
        "acknowledgement", language="en", format_="standard", context=context(type="complaint")
    )
    view = Renderer().render("acknowledgement", language="en", format_="standard", context=context())
    assert "3 working days" in complaint.text
    assert "3 working days" not in view.text


@pytest.mark.parametrize("kind", OUTCOME_MESSAGE_KINDS)
@pytest.mark.parametrize(("language", "prompt"), [("en", "Reply 1"), ("cy", "Atebwch 1")])
@pytest.mark.parametrize("format_", ["standard", "easy_read"])
def test_a_decision_update_by_sms_asks_for_a_reply_of_1_2_or_3_even_when_shortened(kind, language, prompt, format_):
    long_influence = "Your detailed account of the transport problems shaped every part of this. " * 20
    rendered = Renderer().render(
        kind, language=language, format_=format_, context=context(influence=long_influence, change_note="ŵ " * 200)
    )

    assert prompt in rendered.sms and "2" in rendered.sms.split(prompt, 1)[1]
    assert rendered.sms.endswith(STATUS_URL)
    assert sms_segments(rendered.sms) <= MAX_SMS_SEGMENTS
    assert prompt not in rendered.text  # only the SMS asks: email has the status page's question


def test_other_messages_do_not_ask_for_a_reply():
    for kind in set(MESSAGE_KINDS) - set(OUTCOME_MESSAGE_KINDS):
        assert "Reply 1" not in Renderer().render(kind, language="en", format_="standard", context=context()).sms


def test_an_email_ends_with_links_to_change_how_we_contact_you_and_to_stop():
    urls = {
        "preferences_url": "https://n.example/preferences/abc",
        "unsubscribe_url": "https://n.example/v1/unsubscribe/x",
    }
    english = Renderer().render("acknowledgement", language="en", format_="standard", context=context(**urls))
    welsh = Renderer().render("acknowledgement", language="cy", format_="standard", context=context(**urls))

    assert english.text.endswith(
        "Change how we contact you: https://n.example/preferences/abc\n"
        "Stop these updates: https://n.example/v1/unsubscribe/x"
    )
    assert (
        '<a href="https://n.example/preferences/abc" style="color: #1d70b8;">Change how we contact you</a>'
        in english.html
    )
    assert "Newid sut rydyn ni'n cysylltu â chi: https://n.example/preferences/abc" in welsh.text


def test_a_digest_has_one_footer_and_the_latest_reply_prompt():
    urls = {
        "preferences_url": "https://n.example/p",
        "unsubscribe_url": "https://n.example/u",
        "status_url": STATUS_URL,
    }
    renderer = Renderer()
    parts = [
        renderer.render(kind, language="en", format_="standard", context=context(**urls))
        for kind in ("interim_update", "decision_linked")
    ]

    digest = renderer.combine(parts, format_="standard", urls=urls)

    assert digest.text.count("Change how we contact you:") == 1
    assert digest.sms.count("Reply 1") == 1 and digest.sms.endswith(STATUS_URL)


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("format_", ["standard", "easy_read", "large_print"])
@pytest.mark.parametrize("empty", ["can_change", "cannot_change"])
def test_an_engagement_with_nothing_listed_says_nothing_about_it(language, format_, empty):
    full = Renderer().render("acknowledgement", language=language, format_=format_, context=context())
    rendered = Renderer().render("acknowledgement", language=language, format_=format_, context=context(**{empty: []}))

    for part in (rendered.text, rendered.html):
        assert ": ." not in part and ":</p>" not in part and ": </p>" not in part
        assert "\n\n\n" not in part
    kept = "opening hours" if empty == "cannot_change" else "the total budget"
    assert kept in rendered.text
    assert len(rendered.text.split("\n\n")) == len(full.text.split("\n\n")) - 1  # that one paragraph, gone
