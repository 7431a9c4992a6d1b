"""Every message kind has its letter, in English and Welsh, standard, easy read and large print."""

from __future__ import annotations

import json
import re

import pytest

from services.notifier.adapters.letters import OutboxLetters, letter_body, personalisation
from services.notifier.adapters.providers import OutgoingMessage
from services.notifier.adapters.templates import Renderer
from services.notifier.bootstrap import providers_from
from shared.infra.settings import Settings
from shared.rules.constants import MESSAGE_KINDS
from tests.unit.services.notifier.adapters.test_templates import STATUS_URL, context

PREFERENCES_URL = "https://outcomes.example.gov.uk/v1/preferences/eyJ0IjoiZGVtbyJ9.sig"
URLS = {"status_url": STATUS_URL, "preferences_url": PREFERENCES_URL, "unsubscribe_url": PREFERENCES_URL + "/stop"}


def letter(kind: str, language: str, format_: str) -> tuple[str, str]:
    rendered = Renderer().render(kind, language=language, format_=format_, context={**context(), **URLS})
    return rendered.subject, letter_body(rendered, URLS, format_=format_)


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("format_", ["standard", "easy_read", "large_print"])
def test_every_message_has_a_letter_with_its_links_written_out(kind, language, format_):
    subject, body = letter(kind, language, format_)

    assert subject and body
    assert STATUS_URL in body  # paper has no links: the address is printed
    assert body.endswith(PREFERENCES_URL)


def test_a_welsh_easy_read_decision_letter_gives_the_decision_and_the_reason_in_welsh():
    subject, body = letter("decision_linked", "cy", "easy_read")

    assert subject == "Beth ddigwyddodd i'r hyn a ddywedoch"
    assert "Yr ateb yw: wedi'i gytuno'n rhannol." in body
    assert "Dyma pam: The budget covers two Saturdays a month." in body
    assert "I newid sut rydyn ni'n cysylltu â chi, neu i stopio'r llythyrau hyn" in body


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_large_print_is_the_standard_wording_a_sentence_a_paragraph(kind):
    _, standard = letter(kind, "en", "standard")
    _, large = letter(kind, "en", "large_print")

    assert large.split() == standard.split()
    assert not any(re.search(r"[.!?] [A-Z]", paragraph) for paragraph in large.split("\n\n"))


def test_notify_gets_the_address_a_line_each_and_the_letter():
    message = OutgoingMessage(
        notification_id="n-1",
        channel="post",
        to="Ann Example\n1 High Street\nCardiff\nCF10 1BH",
        subject="What happened to your contribution",
        text="",
        html="",
        sms="",
        unsubscribe_url="",
        letter="The decision: agreed.",
        large_print=True,
    )

    assert personalisation(message) == {
        "address_line_1": "Ann Example",
        "address_line_2": "1 High Street",
        "address_line_3": "Cardiff",
        "address_line_4": "CF10 1BH",
        "subject": "What happened to your contribution",
        "body": "The decision: agreed.",
        "large_print": "yes",
    }


def test_on_one_machine_each_letter_is_a_json_file_under_var_letters(tmp_path):
    settings = Settings.from_mapping({"OUTCOMES_VAR_DIR": str(tmp_path)})
    post = providers_from(settings)["post"]
    assert isinstance(post, OutboxLetters)

    reference = post.send(
        OutgoingMessage(
            notification_id="n-2",
            channel="post",
            to="Owain Jones\n2 Heol y Frenhines\nCaerdydd\nCF10 1BH",
            subject="Rydym wedi cael eich neges",
            text="",
            html="",
            sms="",
            unsubscribe_url="",
            letter="Diolch am ddweud beth rydych chi'n ei feddwl.",
        )
    )

    written = json.loads((tmp_path / "letters" / f"{reference}.json").read_text())
    assert (written["address_line_1"], written["address_line_4"]) == ("Owain Jones", "CF10 1BH")
    assert written["body"] == "Diolch am ddweud beth rydych chi'n ei feddwl."
