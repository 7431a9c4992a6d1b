"""The public "have your say" form and a council's list of open engagements, through Flask's
test client on the real intake (SQLite): what a person without an account sees and sends."""

from __future__ import annotations

import json
import string

import pytest
import sqlalchemy as sa

from services.intake.adapters.tables import contributions, equality_answers, idempotency_keys, participants
from services.intake.bootstrap import bootstrap
from services.intake.domain.public_form import EQUALITY_QUESTIONS, PREFER_NOT_TO_SAY
from services.intake.entrypoints.public_copy import PUBLIC_COPY
from services.intake.entrypoints.web import create_app
from shared.infra.tables import outbox, utcnow
from shared.rules.constants import (
    CONTACT_CHANNELS,
    CONTRIBUTIONS_TOPIC,
    MESSAGE_FORMATS,
    PARTICIPANTS_TOPIC,
    SUBMITTED_BY_PUBLIC_FORM,
)
from tests.support.clock import to_uk_day
from tests.support.page_checks import assert_page_structure, visible_text

FORM_HEADERS = {"Sec-Fetch-Site": "same-origin"}
ADDRESS = "203.0.113.7"


def view_form(**overrides) -> dict:
    """What a person fills in: a view, email updates with consent, two equality answers."""
    form = {
        "text": "Please keep the Saturday session; it is the only day my dad gets out.",
        "name": "Rhian Evans",
        "channel": "email",
        "email": "rhian.evans@example.org",
        "consent": "yes",
        "format": "standard",
        "equality_age_band": "65_74",
        "equality_welsh_speaker": "yes",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def letter_form(**overrides) -> dict:
    """A view from someone who wants a letter, their address typed as people type it."""
    letter = {
        "channel": "post",
        "email": None,
        "address_line_1": "12 Heol y Bont",
        "address_town": "Aberystwyth",
        "postcode": "sy23 1aa",
    }
    return view_form(**{**letter, **overrides})


@pytest.fixture
def client(intake):
    return create_app(intake).test_client()


def send(client, engagement_id: str, form: dict, *, query: str = "", address: str = ADDRESS, headers=None):
    return client.post(
        f"/engagements/{engagement_id}/have-your-say{query}",
        data=form,
        headers=FORM_HEADERS if headers is None else headers,
        environ_base={"REMOTE_ADDR": address},
    )


def rows(intake, table):
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def announced(intake, topic: str) -> list[dict]:
    with intake.engine.connect() as connection:
        payloads = connection.execute(sa.select(outbox.c.payload).where(outbox.c.topic == topic)).scalars()
        return [json.loads(payload) for payload in payloads]


class TestTheForm:
    def test_shows_the_question_what_can_and_cannot_change_and_the_feedback_date_before_the_form(
        self, client, engagement
    ):
        response = client.get(f"/engagements/{engagement['id']}/have-your-say")

        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert_page_structure(html, "en")
        text = visible_text(html)
        for words in (engagement["description"], "opening hours", "the total budget", "Send my view"):
            assert words in text
        assert text.index("the total budget") < text.index("Your view")
        assert "Prefer not to say" in text and "Can you speak Welsh?" in text

    def test_in_welsh_and_easy_read(self, client, engagement):
        response = client.get(f"/engagements/{engagement['id']}/have-your-say?lang=cy&format=easy_read")

        html = response.get_data(as_text=True)
        assert_page_structure(html, "cy")
        assert PUBLIC_COPY["cy"]["form.your_view.hint.easy"] in visible_text(html)
        assert 'value="easy_read" checked' in html  # their messages will be in easy read too

    def test_an_unknown_engagement_gets_a_clear_404(self, client):
        response = client.get("/engagements/no-such-thing/have-your-say")

        assert response.status_code == 404
        assert "We cannot find this question" in visible_text(response.get_data(as_text=True))

    def test_a_closed_engagement_gets_a_410_pointing_to_what_is_open(self, intake, engagement, settings):
        after_its_date = to_uk_day(61)  # the engagement's feedback date is 60 UK days away
        later = bootstrap(settings, clock=lambda: utcnow() + after_its_date)
        client = create_app(later).test_client()

        response = client.get(f"/engagements/{engagement['id']}/have-your-say")
        sent = send(client, engagement["id"], view_form())

        assert response.status_code == sent.status_code == 410
        text = visible_text(response.get_data(as_text=True))
        assert "This question has closed" in text
        assert "/councils/wiltshire/engagements" in response.get_data(as_text=True)
        assert rows(intake, contributions) == []


class TestSending:
    def test_a_view_is_taken_like_an_api_submission_with_a_reference_and_an_acknowledgement(
        self, intake, client, engagement
    ):
        response = send(client, engagement["id"], view_form())

        html = response.get_data(as_text=True)
        assert response.status_code == 200, html
        [kept] = rows(intake, contributions)
        assert kept.reference in visible_text(html)
        assert (kept.channel, kept.type, kept.submitted_by_role) == ("web", "view", SUBMITTED_BY_PUBLIC_FORM)
        [received] = announced(intake, CONTRIBUTIONS_TOPIC)
        assert received["type"] == "contribution.received"
        [registered] = announced(intake, PARTICIPANTS_TOPIC)
        assert registered["data"]["preferred_channel"] == "email"
        assert registered["data"]["consent_to_contact"] is True
        [answers] = rows(intake, equality_answers)
        assert intake.sealer.open(answers.answers_sealed) == {"age_band": "65 to 74", "welsh_speaker": "Yes"}

    def test_the_same_words_from_the_same_address_the_same_day_are_kept_once(self, intake, client, engagement):
        first = send(client, engagement["id"], view_form())
        again = send(
            client,
            engagement["id"],
            view_form(text="  please keep the SATURDAY session; it is the only day my dad gets out."),
        )
        elsewhere = send(client, engagement["id"], view_form(), address="198.51.100.20")

        [kept, other] = sorted(rows(intake, contributions), key=lambda row: row.reference)
        assert kept.reference in visible_text(again.get_data(as_text=True))
        assert "kept them once" in visible_text(again.get_data(as_text=True))
        assert other.reference in visible_text(elsewhere.get_data(as_text=True))
        assert first.status_code == again.status_code == 200
        for row in rows(intake, idempotency_keys):
            assert ADDRESS not in row.key and "Saturday" not in row.key

    def test_no_contact_wanted_keeps_no_contact_details(self, intake, client, engagement):
        send(client, engagement["id"], view_form(channel="none", consent=None, email="kept@example.org"))

        [person] = rows(intake, participants)
        assert (person.preferred_channel, person.consent_to_contact) == ("none", False)
        assert "kept@example.org" not in intake.sealer.open(person.contact_sealed).values()

    def test_a_letter_address_is_kept_sealed_as_the_api_keeps_it(self, intake, client, engagement):
        response = send(client, engagement["id"], letter_form(address_line_2="Trefechan"))

        assert response.status_code == 200, response.get_data(as_text=True)
        [person] = rows(intake, participants)
        assert (person.preferred_channel, person.consent_to_contact) == ("post", True)
        contact = intake.sealer.open(person.contact_sealed)
        assert contact["address_lines"] == ["12 Heol y Bont", "Trefechan", "Aberystwyth"]
        assert contact["postcode"] == "SY23 1AA"  # as the API stores it
        assert "Heol y Bont" not in json.dumps(announced(intake, PARTICIPANTS_TOPIC))

    def test_a_phone_number_is_kept_in_the_one_form_the_api_keeps(self, intake, client, engagement):
        send(client, engagement["id"], view_form(channel="sms", email=None, phone="+44 (0)7700 900123"))

        [person] = rows(intake, participants)
        assert intake.sealer.open(person.contact_sealed)["phone"] == "+447700900123"

    def test_an_address_without_consent_is_not_kept(self, intake, client, engagement):
        send(client, engagement["id"], letter_form(channel="none", consent=None))

        [person] = rows(intake, participants)
        contact = intake.sealer.open(person.contact_sealed)
        assert not contact.get("address_lines") and not contact.get("postcode")

    def test_a_filled_honeypot_is_thanked_and_nothing_is_kept(self, intake, client, engagement):
        response = send(client, engagement["id"], view_form(website="http://spam.example"))

        assert response.status_code == 200
        assert rows(intake, contributions) == []

    def test_a_post_from_another_site_is_refused(self, intake, client, engagement):
        response = send(client, engagement["id"], view_form(), headers={"Sec-Fetch-Site": "cross-site"})

        assert response.status_code == 400
        assert rows(intake, contributions) == []


class TestRefusals:
    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"text": "   "}, "text", "Enter your view"),
            ({"text": "x" * 10_001}, "text", "Enter your view"),
            ({"channel": None}, "channel-email", "Choose whether we should tell you what happened"),
            ({"email": None}, "email", "Enter an email address"),
            ({"channel": "sms", "email": None}, "phone", "Enter a mobile phone number"),
            ({"phone": "call me", "channel": "sms"}, "phone", "Enter a mobile phone number"),
            ({"consent": None}, "consent", "Tick the box"),
            ({"channel": "sms", "email": None, "phone": "01632 960123"}, "phone", "Enter a mobile phone number"),
            ({"equality_sex": "robot"}, "equality_sex-female", "Choose one of the answers"),
        ],
    )
    def test_bad_input_gets_the_error_summary_and_keeps_what_was_typed(
        self, intake, client, engagement, changes, field, message
    ):
        response = send(client, engagement["id"], view_form(**changes))

        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert_page_structure(html, "en")
        assert "There is a problem" in html and f'href="#{field}"' in html and message in html
        assert "Rhian Evans" in html
        assert rows(intake, contributions) == []

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"postcode": "NOT A CODE"}, "postcode", "Enter a UK postcode, like SW1A 1AA"),
            ({"postcode": "SW1A 1AA", "address_line_1": None}, "address_line_1", "Enter the first line"),
            ({"postcode": None}, "postcode", "Enter a UK postcode"),
            ({"address_town": None}, "address_town", "Enter your town or city"),
        ],
    )
    def test_a_letter_needs_an_address_with_a_uk_postcode(self, intake, client, engagement, changes, field, message):
        response = send(client, engagement["id"], letter_form(**changes))

        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert f'href="#{field}"' in html and message in html
        assert 'class="field field-error"' in html and f'id="{field}-error"' in html
        assert rows(intake, contributions) == []

    def test_the_address_fields_tell_the_browser_what_they_are_in_every_language(self, client, engagement):
        for query in ("", "?lang=cy", "?lang=cy&format=easy_read"):
            html = client.get(f"/engagements/{engagement['id']}/have-your-say{query}").get_data(as_text=True)
            for name, autocomplete in [
                ("address_line_1", "address-line1"),
                ("address_line_2", "address-line2"),
                ("address_town", "address-level2"),
                ("postcode", "postal-code"),
            ]:
                assert f'name="{name}" autocomplete="{autocomplete}"' in html
        assert "Cod post" in visible_text(html) and "Rhif y tŷ a’r stryd" in visible_text(html).replace("'", "’")

    def test_too_many_from_one_address_are_asked_to_wait(self, intake, engagement, settings):
        stingy = create_app(bootstrap(settings.__class__(**{**vars(settings), "public_form_burst": 2}))).test_client()

        answers = [send(stingy, engagement["id"], view_form(text=f"View number {n}")) for n in range(3)]

        assert [a.status_code for a in answers] == [200, 200, 429]
        assert int(answers[2].headers["Retry-After"]) > 0
        assert "Please wait before sending more" in answers[2].get_data(as_text=True)
        assert "try again in a few minutes" in visible_text(answers[2].get_data(as_text=True))
        assert send(stingy, engagement["id"], view_form(), address="198.51.100.20").status_code == 200

    def test_putting_mistakes_right_does_not_count_against_the_address(self, intake, engagement, settings):
        stingy = create_app(bootstrap(settings.__class__(**{**vars(settings), "public_form_burst": 1}))).test_client()

        mistakes = [send(stingy, engagement["id"], view_form(email=None)) for _ in range(3)]
        put_right = send(stingy, engagement["id"], view_form())

        assert [m.status_code for m in mistakes] == [400] * 3
        assert put_right.status_code == 200


class TestTheCouncilsList:
    def test_lists_open_engagements_with_links_to_their_forms(self, client, engagement, council):
        response = client.get(f"/councils/{council.slug}/engagements?lang=cy")

        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert_page_structure(html, "cy")
        assert f"/engagements/{engagement['id']}/have-your-say?lang=cy" in html

    def test_an_unknown_council_is_404(self, client):
        assert client.get("/councils/nowhere/engagements").status_code == 404


class TestTheWords:
    def test_every_message_is_in_english_and_welsh_with_the_same_placeholders(self):
        assert set(PUBLIC_COPY["en"]) == set(PUBLIC_COPY["cy"])
        for key, english in PUBLIC_COPY["en"].items():
            names = {f[1] for f in string.Formatter().parse(english) if f[1]}
            assert names == {f[1] for f in string.Formatter().parse(PUBLIC_COPY["cy"][key]) if f[1]}, key

    def test_every_channel_format_and_equality_answer_has_words(self):
        wanted = [f"form.channel.{c}" for c in CONTACT_CHANNELS] + [f"form.format.{f}" for f in MESSAGE_FORMATS]
        for question, answers in EQUALITY_QUESTIONS.items():
            wanted.append(f"form.equality.{question}")
            wanted += [f"form.equality.{question}.{a.code}" for a in answers if a.code != PREFER_NOT_TO_SAY]
        assert [key for key in wanted if key not in PUBLIC_COPY["en"]] == []
