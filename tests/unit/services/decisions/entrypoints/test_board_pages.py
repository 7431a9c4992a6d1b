"""The board's pages: record a decision without the API, with the API's rules and events."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from services.decisions.entrypoints.web import create_app
from shared.infra.audit import audit_log
from shared.rules.constants import CONTRIBUTION_LINKED, DECISION_RECORDED, RESOURCE_CHANGED
from tests.support import factories
from tests.support.page_checks import assert_page_structure, visible_text
from tests.unit.services.decisions.actions import record

DISTINCT_WORDS = "the tea urn at Riverside is always cold"


class Browser:
    """A browser on decisions' pages, signed in with one key; forms carry the CSRF token."""

    def __init__(self, client, key: str | None):
        self.client = client
        self.csrf = ""
        if key:
            response = client.post("/sign-in", data={"key": key, "next": "/board"})
            assert response.status_code == 303, response.get_data(as_text=True)
            with client.session_transaction() as session:
                self.csrf = session["csrf"]

    def get(self, path: str, **query):
        return self.client.get(path, query_string=query or None)

    def post(self, path: str, form: dict, *, csrf: bool = True):
        return self.client.post(path, data={**form, **({"csrf_token": self.csrf} if csrf else {})})


@pytest.fixture
def browser_as(decisions, council):
    def open_as(role: str | None = "board", tenant=None) -> Browser:
        return Browser(create_app(decisions).test_client(), (tenant or council).keys[role] if role else None)

    return open_as


@pytest.fixture
def board_member(browser_as) -> Browser:
    return browser_as("board")


def problems_on(html: str) -> dict[str, str]:
    """{field id: message} from the error summary."""
    summary = re.search(r'<div class="error-summary".*?</ul>', html, re.S)
    assert summary, "no error summary"
    return {
        target: visible_text(message) for target, message in re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary[0])
    }


def masked(events: list[tuple[str, dict]]) -> list[tuple[str, str, list[str]]]:
    """What each event says, ids and times aside: (type, key kind, data fields)."""
    return [
        (event["type"], "decision" if key == event["data"].get("decision_id") else "other", sorted(event["data"]))
        for key, event in events
    ]


class TestSignIn:
    def test_without_a_session_the_board_page_sends_you_to_sign_in(self, browser_as):
        response = browser_as(None).get("/board")

        assert response.status_code == 303
        assert response.headers["Location"] == "/sign-in?next=%2Fboard"

    def test_a_case_system_key_cannot_open_it(self, browser_as):
        response = browser_as("case-system").get("/board")

        assert response.status_code == 403
        assert "You cannot open this page" in response.get_data(as_text=True)

    @pytest.mark.parametrize("role", ["board", "staff"])
    def test_board_members_and_staff_see_the_recent_decisions(self, browser_as, role, decisions, board_actor, board_id):
        record(decisions, board_actor, board_id, title="Saturday opening")

        response = browser_as(role).get("/board")

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert "Saturday opening" in visible_text(html)

    def test_a_form_without_the_csrf_token_is_refused_and_nothing_is_recorded(self, board_member, board_id, announced):
        response = board_member.post("/board/decisions/new", factories.board_decision_form(board_id), csrf=False)

        assert response.status_code == 400
        assert announced(DECISION_RECORDED) == []


class TestRecordingADecision:
    def test_the_form_is_accessible_in_both_languages(self, board_member, known_engagement):
        for lang in ("en", "cy"):
            response = board_member.get("/board/decisions/new", lang=lang)
            assert response.status_code == 200
            assert_page_structure(response.get_data(as_text=True), lang)
        assert "Cofnodi penderfyniad" in response.get_data(as_text=True)

    def test_sends_exactly_the_events_the_api_sends(
        self, board_member, decisions_api, board_id, new_contribution, known_engagement, announced
    ):
        by_page, by_api = new_contribution(), new_contribution()
        change = factories.resource_change_payload()
        link = {"influence": "Weekends are the loneliest time."}

        response = board_member.post(
            "/board/decisions/new",
            factories.board_decision_form(
                board_id,
                links=[{"contribution_id": by_page["id"], **link}],
                changes=[change],
                engagement_id=known_engagement["id"],
            ),
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        from_page = announced()
        api = decisions_api.post(
            "/v1/decisions",
            json=factories.decision_payload(
                board_id,
                links=[{"contribution_id": by_api["id"], **link}],
                resource_changes=[change],
                engagement_id=known_engagement["id"],
            ),
        )
        assert api.status_code == 201
        from_api = announced()[len(from_page) :]

        assert [e["type"] for _, e in from_page] == [DECISION_RECORDED, RESOURCE_CHANGED, CONTRIBUTION_LINKED]
        assert masked(from_page) == masked(from_api)
        assert from_page[-1][1]["data"]["contribution_id"] == by_page["id"]

    def test_confirms_the_decision_with_links_to_each_outcome_chain(self, board_member, board_id, new_contribution):
        contribution = new_contribution(text=DISTINCT_WORDS)
        response = board_member.post(
            "/board/decisions/new",
            factories.board_decision_form(
                board_id, title="Warm drinks", links=[factories.link_payload(contribution["id"])]
            ),
        )

        confirmation = board_member.get(response.headers["Location"])
        html = confirmation.get_data(as_text=True)
        assert_page_structure(html, "en")
        assert "Decision recorded" in visible_text(html) and "Warm drinks" in visible_text(html)
        chain_url = f"/board/contributions/{contribution['id']}"
        assert chain_url in html
        chain = board_member.get(chain_url)
        assert chain.status_code == 200
        assert DISTINCT_WORDS in visible_text(chain.get_data(as_text=True))
        assert "Warm drinks" in visible_text(board_member.get("/board").get_data(as_text=True))

    def test_errors_read_exactly_as_the_api_says_them_and_link_to_their_fields(
        self, board_member, decisions_api, board_id, new_contribution, announced
    ):
        contribution = new_contribution()
        bad = {
            "title": "",
            "outcome": "not_adopted",
            "rationale": "",
            "links": [{"contribution_id": contribution["id"], "influence": ""}],
            "changes": [{"kind": "budget", "description": "More", "amount": "12.345", "currency": ""}],
        }
        form = factories.board_decision_form(
            board_id,
            links=bad["links"],
            changes=bad["changes"],
            **{k: v for k, v in bad.items() if k not in ("links", "changes")},
        )

        page = board_member.post("/board/decisions/new", form)
        api = decisions_api.post(
            "/v1/decisions",
            json=factories.decision_payload(
                board_id,
                outcome="not_adopted",
                links=[{"contribution_id": contribution["id"]}],
                resource_changes=[{"kind": "budget", "description": "More", "amount": "12.345"}],
                title=None,
            )
            | {"title": None},
        )

        assert page.status_code == 422
        html = page.get_data(as_text=True)
        assert_page_structure(html, "en")
        shown = problems_on(html)
        assert api.status_code == 422
        expected = api.get_json()["errors"]
        expected.pop("title")  # the API got null: the form sends nothing, and hears it is missing
        assert shown.pop("title") == "Title: Missing data for required field."
        for path, messages in expected.items():
            target = path.replace("[", "-").replace("].", "-")
            assert target in shown, (path, shown)
            assert shown[target].endswith(" ".join(messages))
        assert announced(DECISION_RECORDED) == []

    def test_rules_of_the_board_come_back_on_the_form(self, board_member, board_id):
        page = board_member.post(
            "/board/decisions/new", factories.board_decision_form(board_id, outcome="deferred", rationale="")
        )

        assert page.status_code == 422
        shown = problems_on(page.get_data(as_text=True))
        assert shown["rationale"] == "Why: Required unless the outcome is adopted: say why."
        assert shown["revisit_on"] == (
            "When it will be looked at again: Required when deferring: say when it will be looked at again."
        )

    def test_another_councils_contribution_cannot_be_picked(
        self, board_member, board_id, intake, other_council, feed, announced
    ):
        from services.intake.entrypoints.web import create_app as create_intake_app
        from tests.support.api import ApiClient

        theirs_api = ApiClient(create_intake_app(intake).test_client(), other_council, role="staff")
        engagement = theirs_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        theirs = theirs_api.post("/v1/contributions", json=factories.contribution_payload(engagement["id"])).get_json()
        feed.deliver()

        picked = board_member.post("/board/decisions/new", {"action": "pick", "pick": theirs["id"]})
        forged = board_member.post(
            "/board/decisions/new",
            factories.board_decision_form(board_id, links=[factories.link_payload(theirs["id"])]),
        )
        searched = board_member.post("/board/decisions/new", {"action": "search", "engagement_id": engagement["id"]})

        assert theirs["id"] not in picked.get_data(as_text=True)
        assert forged.status_code == 422
        assert problems_on(forged.get_data(as_text=True))["links-0-contribution_id"].endswith(
            "No contribution with that id."
        )
        assert theirs["reference"] not in searched.get_data(as_text=True)
        assert announced(DECISION_RECORDED) == []


class TestFindingContributions:
    @pytest.fixture
    def three(self, new_contribution, known_engagement, intake_api, feed):
        e = known_engagement["id"]
        elsewhere = intake_api.post("/v1/engagements", json=factories.engagement_payload()).get_json()
        feed.deliver()
        return {
            "urn": new_contribution(e, type="complaint", text=f"Honestly, {DISTINCT_WORDS}."),
            "bus": new_contribution(e, type="view", text="The minibus comes too early for me."),
            "elsewhere": new_contribution(elsewhere["id"], type="complaint", text=f"Also {DISTINCT_WORDS}."),
        }

    def found(self, response) -> set[str]:
        return set(re.findall(r'name="pick" value="([^"]+)"', response.get_data(as_text=True)))

    def test_by_words_in_any_case(self, board_member, known_engagement, three):
        response = board_member.get("/board/decisions/new", engagement_id=known_engagement["id"], q="TEA urn COLD")

        assert self.found(response) == {three["urn"]["id"]}
        assert DISTINCT_WORDS in response.get_data(as_text=True)

    def test_by_type(self, board_member, known_engagement, three):
        response = board_member.get("/board/decisions/new", engagement_id=known_engagement["id"], type="view")

        assert self.found(response) == {three["bus"]["id"]}

    def test_only_within_the_chosen_engagement(self, board_member, known_engagement, three):
        response = board_member.get("/board/decisions/new", engagement_id=known_engagement["id"])

        assert self.found(response) == {three["urn"]["id"], three["bus"]["id"]}

    def test_searching_needs_an_engagement(self, board_member, three):
        response = board_member.post("/board/decisions/new", {"action": "search", "search_words": "urn"})

        assert response.status_code == 422
        assert problems_on(response.get_data(as_text=True)) == {
            "engagement_id": "Engagement this decision is about: Choose an engagement to search its views."
        }

    def test_picking_keeps_what_was_typed_and_asks_for_the_influence(self, board_member, known_engagement, three):
        response = board_member.post(
            "/board/decisions/new",
            {
                "action": "pick",
                "pick": three["bus"]["id"],
                "title": "Later buses",
                "engagement_id": known_engagement["id"],
            },
        )

        html = response.get_data(as_text=True)
        assert 'value="Later buses"' in html
        assert f"How did {three['bus']['reference']} shape this decision?" in visible_text(html)
        assert 'name="links-0-contribution_id"' in html

    def test_add_another_change_is_a_button_not_a_script(self, board_member):
        once = board_member.post("/board/decisions/new", {"action": "add-change"})
        twice = board_member.post(
            "/board/decisions/new", {"action": "add-change", "resource_changes-0-description": "Two more staff"}
        )

        assert 'name="resource_changes-0-kind"' in once.get_data(as_text=True)
        html = twice.get_data(as_text=True)
        assert "Two more staff" in html and 'name="resource_changes-1-kind"' in html


def test_reading_contributions_and_recording_are_in_the_audit_log(
    board_member, decisions, council, board_id, known_engagement, new_contribution
):
    contribution = new_contribution()
    board_member.get("/board/decisions/new", engagement_id=known_engagement["id"])
    board_member.post(
        "/board/decisions/new",
        factories.board_decision_form(board_id, links=[factories.link_payload(contribution["id"])]),
    )

    with decisions.engine.connect() as connection:
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings().all()
    assert [(r["method"], r["route"], r["action"], r["personal_data"], r["status"]) for r in rows] == [
        ("GET", "/board/decisions/new", "read", True, 200),
        ("POST", "/board/decisions/new", "create", True, 303),
    ]
    assert {r["key_id"] for r in rows} == {council.key_ids["board"]}


class TestMovingAResourceChange:
    def test_moves_it_on_and_tells_the_linked_people(
        self, board_member, decisions, board_actor, board_id, new_contribution, announced
    ):
        contribution = new_contribution()
        decision, _, [change] = record(
            decisions,
            board_actor,
            board_id,
            links=[factories.link_payload(contribution["id"])],
            resource_changes=[factories.resource_change_payload()],
        )
        before = len(announced(RESOURCE_CHANGED))

        page = board_member.get(f"/board/resource-changes/{change.id}")
        moved = board_member.post(
            f"/board/resource-changes/{change.id}", {"status": "in_progress", "progress_percent": "30", "note": ""}
        )

        assert page.status_code == 200
        assert_page_structure(page.get_data(as_text=True), "en")
        assert moved.status_code == 303
        assert moved.headers["Location"].startswith(f"/board/decisions/{decision.id}")
        [event] = announced(RESOURCE_CHANGED)[before:]
        assert event[1]["data"]["status"] == "in_progress" and event[1]["data"]["progress_percent"] == 30

    def test_refusals_read_as_the_api_says_them(self, board_member, decisions, board_actor, board_id):
        _, _, [change] = record(
            decisions, board_actor, board_id, resource_changes=[factories.resource_change_payload()]
        )

        response = board_member.post(f"/board/resource-changes/{change.id}", {"status": "cancelled"})

        assert response.status_code == 422
        assert problems_on(response.get_data(as_text=True)) == {"note": "Note: Required to cancel: say why."}

    def test_another_councils_change_is_not_found(self, browser_as, other_council, decisions, board_actor, board_id):
        _, _, [change] = record(
            decisions, board_actor, board_id, resource_changes=[factories.resource_change_payload()]
        )

        assert browser_as("board", other_council).get(f"/board/resource-changes/{change.id}").status_code == 404
