"""The participant's status page and its "Did this make a difference?" question, through
the Flask test client on SQLite, fed intake's real events."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.decisions.adapters.tables import ratings_view
from services.decisions.entrypoints.web import create_app as create_decisions_app
from shared.infra.links import STATUS_PAGE, UNSUBSCRIBE, Links
from shared.infra.tables import outbox, utcnow
from shared.rules.constants import OUTCOME_RATED, PARTICIPANTS_TOPIC
from tests.support import factories
from tests.support.api import ApiClient
from tests.support.page_checks import assert_page_structure, visible_text
from tests.unit.services.decisions.actions import add_change, move, record

COMMENT = "The Saturday club helps, but the bus still comes too early."


@pytest.fixture
def pages(decisions):
    return create_decisions_app(decisions).test_client()


@pytest.fixture
def links(settings) -> Links:
    return Links(settings.link_signing_secret, status_base_url="http://status.example")


@pytest.fixture
def story(decisions, council, links, intake_api, engagement, feed, board_actor, board_id):
    """One participant with two contributions: one decided (with a change done), one not yet."""
    participant = intake_api.post("/v1/participants", json=factories.participant_payload()).get_json()["id"]
    said = {}
    for name, text in (("decided", None), ("waiting", "Can the café open earlier?")):
        payload = factories.contribution_payload(engagement["id"], participant_id=participant)
        del payload["participant"]
        if text:
            payload["text"] = text
        said[name] = intake_api.post("/v1/contributions", json=payload).get_json()
    feed.deliver()
    decided, waiting = said["decided"], said["waiting"]
    decision, _, _ = record(
        decisions,
        board_actor,
        board_id,
        title="Saturday opening",
        rationale="The budget covers two Saturdays a month.",
        links=[factories.link_payload(decided["id"], influence="Weekend isolation was the reason we chose it.")],
    )
    change = add_change(decisions, board_actor, decision.id, description="Two more support workers on Saturdays.")
    move(decisions, board_actor, change.id, "implemented", note="Both started in March.")
    token = links.token(STATUS_PAGE, council.slug, participant)
    return {"decided": decided, "waiting": waiting, "participant": participant, "token": token}


def rate(pages, story, contribution=None, **form):
    contribution_id = contribution or story["decided"]["id"]
    return pages.post(
        f"/status/{story['token']}/contributions/{contribution_id}/rating",
        data=factories.rating_form(**form),
        headers={"Sec-Fetch-Site": "same-origin"},
    )


class TestThePage:
    def test_each_contribution_is_told_in_plain_words_with_its_reference(self, pages, story):
        response = pages.get(f"/status/{story['token']}")

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        text = visible_text(html)
        assert f"Your view: {story['decided']['reference']}" in text
        assert f"Your view: {story['waiting']['reference']}" in text
        assert "You said Please open the centre on Saturdays" in text
        assert "The board decided: Saturday opening" in text
        assert "The answer: partly agreed." in text
        assert "Why: The budget covers two Saturdays a month." in text
        assert "Your view shaped this: Weekend isolation was the reason we chose it." in text
        assert "Two more support workers on Saturdays.: done." in text
        assert "We have not made a decision yet." in text
        assert response.headers["Cache-Control"] == "no-store"

    def test_only_a_decided_contribution_asks_whether_it_made_a_difference(self, pages, story):
        html = pages.get(f"/status/{story['token']}").get_data(as_text=True)

        assert html.count("Did this make a difference?") == 1
        assert f'action="/status/{story["token"]}/contributions/{story["decided"]["id"]}/rating"' in html
        assert "A new answer replaces the one before." in visible_text(html)

    def test_in_welsh(self, pages, story):
        response = pages.get(f"/status/{story['token']}?lang=cy")

        html = response.get_data(as_text=True)
        assert_page_structure(html, "cy")
        text = visible_text(html)
        assert "Beth ddigwyddodd i'ch barn" in text
        assert "Penderfynodd y bwrdd: Saturday opening" in text
        assert "Yr ateb: wedi'i gytuno'n rhannol." in text
        assert "A wnaeth hyn wahaniaeth?" in text
        assert "?lang=cy" in html.split('class="rating"')[0]  # the form keeps the language

    def test_easy_read_has_large_text_and_a_way_back(self, pages, story):
        standard = pages.get(f"/status/{story['token']}").get_data(as_text=True)
        easy = pages.get(f"/status/{story['token']}?format=easy_read").get_data(as_text=True)

        assert_page_structure(easy, "en")
        assert 'class="easy-read"' in easy and 'class="easy-read"' not in standard
        assert f'href="/status/{story["token"]}?format=easy_read">Show this page in easy read' in standard
        assert f'href="/status/{story["token"]}">Show this page in the usual layout' in easy
        assert "It shows what we did." in visible_text(easy)

    def test_an_erased_participant_is_told_nothing_is_held(self, pages, story, feed, council):
        feed.send(PARTICIPANTS_TOPIC, factories.participant_erased_event(council.slug, story["participant"]))

        text = visible_text(pages.get(f"/status/{story['token']}").get_data(as_text=True))

        assert "We no longer hold anything you told us." in text
        assert story["decided"]["reference"] not in text
        assert "Please open the centre" not in text


class TestBadLinks:
    @pytest.mark.parametrize("how", ["tampered", "expired", "another purpose", "unknown"])
    def test_a_bad_link_is_a_plain_404_that_says_nothing_more(self, pages, story, settings, council, how):
        if how == "tampered":
            token = story["token"][:-3] + ("AAA" if not story["token"].endswith("AAA") else "BBB")
        elif how == "expired":
            issued = utcnow() - dt.timedelta(days=400)
            old = Links(settings.link_signing_secret, status_base_url="http://status.example", clock=lambda: issued)
            token = old.token(STATUS_PAGE, council.slug, story["participant"])
        elif how == "another purpose":
            token = Links(settings.link_signing_secret, status_base_url="x").token(
                UNSUBSCRIBE, council.slug, story["participant"]
            )
        else:
            token = "not-a-token"

        response = pages.get(f"/status/{token}")

        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert visible_text(html).count("This link does not work. It may have expired.") == 1
        assert story["decided"]["reference"] not in html
        assert "signature" not in html.lower() and "expired" not in html.split("<main")[0]


class TestRating:
    def test_an_answer_is_stored_announced_and_shown_in_the_chain(self, pages, story, decisions, council, announced):
        response = rate(pages, story, rating="partly")

        assert response.status_code == 303
        contribution_id = story["decided"]["id"]
        assert response.headers["Location"].endswith(f"?rated={contribution_id}#contribution-{contribution_id}")
        thanked = pages.get(response.headers["Location"])
        text = visible_text(thanked.get_data(as_text=True))
        assert f"Thank you We have your answer about {story['decided']['reference']}." in text
        assert "Your answer: Partly." in text
        assert 'value="partly" checked' in thanked.get_data(as_text=True)

        [(key, event)] = announced(OUTCOME_RATED)
        assert key == contribution_id
        assert event["data"]["contribution_id"] == contribution_id
        assert event["data"]["participant_id"] == story["participant"]
        assert event["data"]["rating"] == "partly"
        assert event["data"]["channel"] == "web"
        assert event["data"]["rated_at"]

        board = ApiClient(pages, council, role="board")
        chain = board.get(f"/v1/contributions/{contribution_id}/outcome-chain").get_json()
        assert chain["rating"]["rating"] == "partly"
        assert chain["rating"]["channel"] == "web"
        assert chain["rating"]["comment"] == COMMENT
        assert {"step": "rated", "rating": "partly"}.items() <= chain["steps"][-1].items()

    def test_the_comment_is_sealed_in_the_database_and_never_announced(self, pages, story, decisions):
        rate(pages, story, comment=COMMENT)

        with decisions.engine.connect() as connection:
            [row] = connection.execute(sa.select(ratings_view)).mappings().all()
            payloads = connection.execute(sa.select(outbox.c.payload)).scalars().all()
        assert row["sealed_comment"] and COMMENT not in row["sealed_comment"]
        assert decisions.sealer.open_bytes(row["sealed_comment"]).decode() == COMMENT
        assert not any(b"Saturday club" in bytes(payload) for payload in payloads)

    def test_a_second_answer_replaces_the_first(self, pages, story, council, announced):
        rate(pages, story, rating="yes", comment="")
        rate(pages, story, rating="no", comment="")

        board = ApiClient(pages, council, role="board")
        chain = board.get(f"/v1/contributions/{story['decided']['id']}/outcome-chain").get_json()
        assert chain["rating"]["rating"] == "no"
        assert chain["rating"]["comment"] is None
        assert [e["data"]["rating"] for _, e in announced(OUTCOME_RATED)] == ["yes", "no"]
        assert "Your answer: No." in visible_text(pages.get(f"/status/{story['token']}").get_data(as_text=True))

    def test_no_answer_is_refused_with_a_message_that_leads_to_the_question(self, pages, story, decisions):
        response = rate(pages, story, rating="")

        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert f'href="#rating-{story["decided"]["id"]}-yes">Choose yes, partly or no</a>' in html
        assert COMMENT in html  # what they wrote is kept for them
        with decisions.engine.connect() as connection:
            assert connection.execute(sa.select(ratings_view)).all() == []

    def test_a_comment_too_long_is_refused_in_welsh_too(self, pages, story):
        contribution_id = story["decided"]["id"]
        response = pages.post(
            f"/status/{story['token']}/contributions/{contribution_id}/rating?lang=cy",
            data=factories.rating_form(comment="x" * 1001),
            headers={"Sec-Fetch-Site": "same-origin"},
        )

        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert_page_structure(html, "cy")
        assert f'href="#comment-{contribution_id}">Ysgrifennwch 1000 nod neu lai</a>' in html

    def test_a_contribution_not_yet_decided_cannot_be_rated(self, pages, story, decisions):
        response = rate(pages, story, contribution=story["waiting"]["id"])

        assert response.status_code == 422
        assert "There is no decision on this yet" in visible_text(response.get_data(as_text=True))
        with decisions.engine.connect() as connection:
            assert connection.execute(sa.select(ratings_view)).all() == []

    def test_another_participants_contribution_is_refused_as_not_found(
        self, pages, story, new_contribution, board_actor, board_id, decisions, announced
    ):
        someone_else = new_contribution()
        record(decisions, board_actor, board_id, links=[factories.link_payload(someone_else["id"])])

        for form in ({}, {"rating": "sideways"}):
            response = rate(pages, story, contribution=someone_else["id"], **form)
            assert response.status_code == 404
            assert someone_else["reference"] not in response.get_data(as_text=True)
        with decisions.engine.connect() as connection:
            assert connection.execute(sa.select(ratings_view)).all() == []
        assert announced(OUTCOME_RATED) == []

    def test_a_form_posted_from_another_site_is_refused(self, pages, story, decisions):
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://elsewhere.example"}):
            response = pages.post(
                f"/status/{story['token']}/contributions/{story['decided']['id']}/rating",
                data=factories.rating_form(),
                headers=headers,
            )
            assert response.status_code == 400
        with decisions.engine.connect() as connection:
            assert connection.execute(sa.select(ratings_view)).all() == []

    def test_opening_the_answer_address_leads_back_to_the_page(self, pages, story):
        response = pages.get(f"/status/{story['token']}/contributions/{story['decided']['id']}/rating?lang=cy")

        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/status/{story['token']}?lang=cy")


def test_erasing_the_participant_removes_their_comment_but_keeps_their_answer(pages, story, feed, council):
    rate(pages, story, rating="yes", comment=COMMENT)

    feed.send(PARTICIPANTS_TOPIC, factories.participant_erased_event(council.slug, story["participant"]))

    board = ApiClient(pages, council, role="board")
    rating = board.get(f"/v1/contributions/{story['decided']['id']}/outcome-chain").get_json()["rating"]
    assert (rating["rating"], rating["comment"]) == ("yes", None)
