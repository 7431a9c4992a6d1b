"""A participant's preferences page and the unsubscribe page, reached from their email."""

from __future__ import annotations

import pytest
from markupsafe import escape

from shared.infra.links import PREFERENCES, STATUS_PAGE, UNSUBSCRIBE
from tests.support import factories
from tests.support.api import ApiClient
from tests.support.page_checks import assert_page_structure, visible_text

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def participant(intake_api, relay) -> str:
    created = intake_api.post("/v1/participants", json=factories.participant_payload()).get_json()["id"]
    relay.deliver()
    return created


@pytest.fixture
def token(notifier, council, participant):
    def make(purpose: str = PREFERENCES) -> str:
        return notifier.extensions["notifier"].links.token(purpose, council.slug, participant)

    return make


def stored_preferences(intake_api, notifier_pages, participant) -> dict:
    staff = ApiClient(notifier_pages, intake_api.tenant, role="staff")
    return staff.get(f"/v1/participants/{participant}/preferences").get_json()


class TestPreferences:
    def test_the_page_shows_the_choices_held_in_english_and_welsh(self, notifier_pages, token):
        english = notifier_pages.get(f"/preferences/{token()}").get_data(as_text=True)
        welsh = notifier_pages.get(f"/preferences/{token()}?lang=cy").get_data(as_text=True)

        assert_page_structure(english, "en")
        assert_page_structure(welsh, "cy")
        assert "How we contact you" in visible_text(english)
        assert "Sut rydyn ni'n cysylltu â chi" in visible_text(welsh)
        for held in (
            'id="preferred_channel-email" name="preferred_channel" value="email" checked',
            'value="en" checked',
            'value="standard" checked',
            'value="send" checked',
        ):
            assert held in english
        assert '<label for="language-cy" lang="cy">Cymraeg (Welsh)</label>' in english

    def test_changing_them_is_saved_as_the_api_would_save_it(self, notifier_pages, token, intake_api, participant):
        form = {"preferred_channel": "sms", "language": "cy", "format": "easy_read", "consent_to_contact": "send"}
        response = notifier_pages.post(f"/preferences/{token()}?lang=cy", data=form, headers=SAME_SITE)

        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/preferences/{token()}?lang=cy&saved=1")
        saved = notifier_pages.get(response.headers["Location"]).get_data(as_text=True)
        assert "Mae eich dewisiadau wedi'u cadw" in visible_text(saved)
        assert stored_preferences(intake_api, notifier_pages, participant) == {
            "preferred_channel": "sms",
            "language": "cy",
            "format": "easy_read",
            "consent_to_contact": True,
            "unsubscribed": False,
            "reachable_channels": ["email", "sms", "none"],
        }

    def test_only_ways_we_hold_details_for_are_offered(self, notifier_pages, notifier, council, intake_api, relay):
        def offered(payload: dict) -> list[str]:
            created = intake_api.post("/v1/participants", json=payload).get_json()["id"]
            relay.deliver()
            token = notifier.extensions["notifier"].links.token(PREFERENCES, council.slug, created)
            page = notifier_pages.get(f"/preferences/{token}").get_data(as_text=True)
            return [c for c in ("email", "sms", "post", "none") if f'id="preferred_channel-{c}"' in page]

        assert offered(factories.participant_payload()) == ["email", "sms", "none"]
        assert offered(factories.participant_payload(phone=None)) == ["email", "none"]
        assert offered(factories.participant_payload(**factories.postal_address())) == ["email", "sms", "post", "none"]

    @pytest.mark.parametrize("lang", ["en", "cy"])
    def test_a_way_we_hold_no_details_for_is_refused_and_the_choice_kept(
        self, notifier_pages, token, intake_api, participant, lang
    ):
        form = {"preferred_channel": "post", "language": "en", "format": "standard", "consent_to_contact": "send"}
        response = notifier_pages.post(f"/preferences/{token()}?lang={lang}", data=form, headers=SAME_SITE)

        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'id="preferred_channel-error"' in page
        assert_page_structure(page, lang)
        assert stored_preferences(intake_api, notifier_pages, participant)["preferred_channel"] == "email"

    def test_the_api_refuses_a_way_we_hold_no_details_for_with_the_field_named(
        self, notifier_pages, intake_api, participant
    ):
        staff = ApiClient(notifier_pages, intake_api.tenant, role="staff")
        wanted = {"preferred_channel": "post", "language": "en", "format": "standard", "consent_to_contact": True}

        response = staff.put(f"/v1/participants/{participant}/preferences", json=wanted)

        assert response.status_code == 422
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "no postal address" in " ".join(response.get_json()["errors"]["preferred_channel"])

    def test_stopping_all_messages(self, notifier_pages, token, intake_api, participant):
        form = {"preferred_channel": "email", "language": "en", "format": "standard", "consent_to_contact": "stop"}
        response = notifier_pages.post(f"/preferences/{token()}", data=form, headers=SAME_SITE)

        saved = notifier_pages.get(response.headers["Location"]).get_data(as_text=True)
        assert "We will not send you any more messages." in visible_text(saved)
        assert 'value="stop" checked' in saved
        assert stored_preferences(intake_api, notifier_pages, participant)["consent_to_contact"] is False

    @pytest.mark.parametrize("lang", ["en", "cy"])
    def test_an_answer_missing_or_not_allowed_is_refused_with_a_message_that_leads_to_it(
        self, notifier_pages, token, intake_api, participant, lang
    ):
        form = {"language": "en", "format": "huge", "consent_to_contact": "send"}
        response = notifier_pages.post(f"/preferences/{token()}?lang={lang}", data=form, headers=SAME_SITE)

        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert_page_structure(html, lang)
        channel, format_ = {
            "en": ("Choose how we should send you updates", "Choose how the updates should look"),
            "cy": ("Dewiswch sut dylen ni anfon newyddion atoch chi", "Dewiswch sut dylai'r newyddion edrych"),
        }[lang]
        assert f'<a href="#preferred_channel-email">{escape(channel)}</a>' in html
        assert f'<a href="#format-standard">{escape(format_)}</a>' in html
        assert 'aria-describedby="format-error"' in html
        assert stored_preferences(intake_api, notifier_pages, participant)["format"] == "standard"

    @pytest.mark.parametrize("purpose", [STATUS_PAGE, UNSUBSCRIBE])
    def test_a_link_made_for_something_else_opens_nothing(self, notifier_pages, token, purpose):
        response = notifier_pages.get(f"/preferences/{token(purpose)}")

        assert response.status_code == 404
        assert "This link does not work." in visible_text(response.get_data(as_text=True))

    def test_a_form_posted_from_another_site_is_refused(self, notifier_pages, token, intake_api, participant):
        form = {"preferred_channel": "none", "language": "en", "format": "standard", "consent_to_contact": "stop"}
        response = notifier_pages.post(f"/preferences/{token()}", data=form, headers={"Sec-Fetch-Site": "cross-site"})

        assert response.status_code == 400
        assert stored_preferences(intake_api, notifier_pages, participant)["consent_to_contact"] is True


def test_every_email_links_to_the_preferences_page_and_to_stop(
    intake_api, engagement, participant, notifier, notifier_pages, relay, providers
):
    payload = factories.contribution_payload(engagement["id"], participant_id=participant)
    del payload["participant"]
    intake_api.post("/v1/contributions", json=payload)
    relay.deliver()
    notifier.extensions["notifier"].sender.send_due()

    [email] = providers["email"].sent
    footer = email.text.rsplit("\n\n", 1)[1].splitlines()
    assert footer[0].startswith("Change how we contact you: ") and "/preferences/" in footer[0]
    assert footer[1] == f"Stop these updates: {email.unsubscribe_url}"
    assert "Change how we contact you</a>" in email.html
    preferences_path = footer[0].split("/preferences/", 1)[1]
    assert notifier_pages.get(f"/preferences/{preferences_path}").status_code == 200


class TestUnsubscribe:
    @pytest.mark.parametrize("lang", ["en", "cy"])
    def test_the_page_asks_before_stopping_and_offers_the_preferences_instead(self, notifier_pages, token, lang):
        html = notifier_pages.get(f"/v1/unsubscribe/{token(UNSUBSCRIBE)}?lang={lang}").get_data(as_text=True)

        assert_page_structure(html, lang)
        button, instead = {
            "en": ("Stop sending me updates", "Change how we contact you instead"),
            "cy": ("Stopio anfon newyddion ataf", "Newid sut rydyn ni'n cysylltu â chi yn lle hynny"),
        }[lang]
        assert button in visible_text(html) and instead in visible_text(html)
        assert f'href="/preferences/{token()}?lang={lang}"' in html

    def test_one_click_stops_updates_and_the_preferences_page_can_start_them_again(
        self, notifier_pages, token, intake_api, participant
    ):
        response = notifier_pages.post(f"/v1/unsubscribe/{token(UNSUBSCRIBE)}", data={"List-Unsubscribe": "One-Click"})

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert "Updates stopped" in visible_text(html)
        assert stored_preferences(intake_api, notifier_pages, participant)["unsubscribed"] is True
        again = {"preferred_channel": "email", "language": "en", "format": "standard", "consent_to_contact": "send"}
        notifier_pages.post(f"/preferences/{token()}", data=again, headers=SAME_SITE)
        assert stored_preferences(intake_api, notifier_pages, participant)["unsubscribed"] is False
