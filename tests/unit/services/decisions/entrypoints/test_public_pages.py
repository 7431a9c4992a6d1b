"""The public "You said, we did" pages: what anyone can read of an engagement's outcome."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from services.decisions.entrypoints.web import create_app
from tests.support import factories
from tests.support.clock import uk_today
from tests.support.page_checks import assert_page_structure, visible_text
from tests.unit.services.decisions.actions import move, rate, record

DISTINCT_WORDS = "Zephaniah's marmalade-coloured minibus"
DISTINCT_INFLUENCE = "Quillon-influence-marker"
DISTINCT_NOTE = "Brackenbury-progress-note"


@pytest.fixture
def public(decisions):
    """A browser with no session and no key."""
    return create_app(decisions).test_client()


def table_rows(html: str, caption: str) -> dict[str, str]:
    """{row heading: its cell} of the table with this caption."""
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.S)
    assert table, f"no table captioned {caption!r}"
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="number">(.*?)</td>', table[1], re.S)
    return {visible_text(heading): visible_text(cell) for heading, cell in rows}


@pytest.fixture
def story(decisions, feed, board_actor, board_id, new_contribution, known_engagement, council):
    """Nine contributions (five views, four ideas), two decisions, a change carried through."""
    e = known_engagement["id"]
    views_ = [
        new_contribution(e, type="view", text=f"{DISTINCT_WORDS} {n}", participant=factories.distinctive_participant())
        for n in range(5)
    ]
    ideas = [new_contribution(e, type="recommendation", on_behalf_of=3) for _ in range(4)]
    adopted, _, [change] = record(
        decisions,
        board_actor,
        board_id,
        title="Saturday opening",
        description="Open both centres on Saturdays from April.",
        outcome="partly_adopted",
        rationale="Saturdays yes, Sundays not yet.",
        decided_on="2026-11-20",
        links=[factories.link_payload(c["id"], influence=DISTINCT_INFLUENCE) for c in views_ + ideas],
        resource_changes=[factories.resource_change_payload(description="Two more support workers on Saturdays.")],
    )
    record(
        decisions,
        board_actor,
        board_id,
        title="Sunday opening",
        outcome="deferred",
        rationale="Not this year.",
        revisit_on=str(uk_today() + dt.timedelta(days=180)),  # decided today (UK), looked at again later
        engagement_id=e,
    )
    move(decisions, board_actor, change.id, "in_progress", DISTINCT_NOTE, 40)
    for contribution, rating in zip(views_ + ideas, ["yes"] * 5 + ["partly"] * 3 + ["no"], strict=True):
        rate(feed, council.slug, contribution["id"], rating)
    return {"engagement": known_engagement, "contributions": views_ + ideas, "decision": adopted}


def page_of(public, engagement_id: str, lang: str = "en"):
    return public.get(f"/engagements/{engagement_id}/you-said-we-did", query_string={"lang": lang})


class TestYouSaidWeDid:
    def test_anyone_can_read_what_was_asked_said_and_done(self, public, story):
        response = page_of(public, story["engagement"]["id"])

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        text = visible_text(html)
        engagement = story["engagement"]
        assert engagement["title"] in text and engagement["description"] in text
        assert "What could change opening hours activities offered" in text
        assert "What could not change the total budget closing the Elm Road site" in text
        assert "We got 9 views and ideas. They speak for 17 people." in text
        assert "Saturday opening Decision Partly agreed Decided on 20 November 2026" in text
        assert "Why Saturdays yes, Sundays not yet." in text
        assert "Sunday opening Decision Put off for now" in text
        today = uk_today()
        assert f"Under way since {today.day}" in text and "(40% done)" in text
        assert "£48,000.00" in text

    def test_a_count_of_four_reads_fewer_than_5_and_cannot_be_worked_out(self, public, story):
        html = page_of(public, story["engagement"]["id"]).get_data(as_text=True)

        by_type = table_rows(html, "What people told us, by type")
        # Four ideas are hidden; the five views are hidden too, or 9 - 5 would give the four away.
        assert by_type["Ideas for change"] == "fewer than 5"
        assert by_type["Views"] == "5 or more"
        assert by_type["Complaints"] == by_type["Questions"] == "fewer than 5"
        answers = table_rows(html, "What people told us about the difference their view made")
        assert answers == {
            "Yes, it made a difference": "5 or more",
            "It made some difference": "fewer than 5",
            "No, it made no difference": "fewer than 5",
        }
        assert "9 people answered" in visible_text(html)

    def test_nothing_anyone_wrote_about_a_person_is_on_the_page(self, public, story, intake, decisions):
        html = page_of(public, story["engagement"]["id"]).get_data(as_text=True)

        for private in (DISTINCT_WORDS, DISTINCT_INFLUENCE, DISTINCT_NOTE, "Quennell", "@Example-Council"):
            assert private not in html
        for contribution in story["contributions"]:
            assert contribution["reference"] not in html
            assert contribution["id"] not in html

    def test_in_welsh(self, public, story):
        response = page_of(public, story["engagement"]["id"], lang="cy")

        html = response.get_data(as_text=True)
        assert_page_structure(html, "cy")
        text = visible_text(html)
        assert "Beth ofynnon ni" in text and "Wedi'i gytuno'n rhannol" in text and "llai na 5" in text
        assert "20 Tachwedd 2026" in text

    def test_a_few_contributions_show_no_number_at_all(self, public, new_contribution, known_engagement):
        new_contribution(known_engagement["id"], type="complaint")

        text = visible_text(page_of(public, known_engagement["id"]).get_data(as_text=True))

        assert "We got fewer than 5 views and ideas. They speak for fewer than 5 people." in text
        assert "No decisions have been made yet." in text

    def test_an_unknown_engagement_is_a_plain_404_page(self, public):
        response = page_of(public, str(uuid.uuid4()))

        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)


class TestCouncilIndex:
    def test_lists_the_councils_engagements_that_have_decisions(self, public, story, council, intake_api, feed):
        quiet = intake_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        feed.deliver()

        response = public.get(f"/councils/{council.slug}/you-said-we-did")

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert f"/engagements/{story['engagement']['id']}/you-said-we-did" in html
        assert quiet["id"] not in html
        assert "Wiltshire Council" in visible_text(html)

    def test_an_unknown_council_is_404(self, public):
        assert public.get("/councils/atlantis/you-said-we-did").status_code == 404
