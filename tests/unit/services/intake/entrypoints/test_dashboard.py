"""The staff dashboard page (`/dashboard`) and its JSON twin (`/v1/reports/dashboard`)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.intake.entrypoints.web import create_app
from shared.rules.domain import UK
from tests.support import factories
from tests.support.api import ApiClient


@pytest.fixture
def council_loop(loop):
    """Two engagements in two service areas; people of three age bands, one of them four
    strong; a board decided on the older people's views."""
    adults = loop.engagement(service_area="Adult social care")
    children = loop.engagement(service_area="Children's services")
    older = [loop.contribute(adults["id"], equality=factories.equality_answers(age_band="65-74")) for _ in range(6)]
    for _ in range(5):
        loop.contribute(adults["id"], equality=factories.equality_answers(age_band="25-34"))
    for _ in range(4):
        loop.contribute(adults["id"], equality=factories.equality_answers(age_band="18-24"))
    loop.contribute(children["id"], type="complaint")
    loop.decide([c["id"] for c in older], outcome="adopted", rationale=None)
    loop.adults, loop.children = adults, children
    return loop


def signed_in(loop, role: str = "staff", tenant=None):
    client = create_app(loop.chain.intake).test_client()
    key = (tenant or loop.council).keys[role]
    response = client.post("/sign-in", data={"key": key, "next": "/dashboard"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def test_without_a_session_the_dashboard_sends_you_to_sign_in(loop):
    client = create_app(loop.chain.intake).test_client()

    response = client.get("/dashboard?lang=cy")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?next=%2Fdashboard%3Flang%3Dcy&lang=cy"


def test_a_board_members_key_cannot_open_the_dashboard(loop):
    response = signed_in(loop, "board").get("/dashboard")

    assert response.status_code == 403
    assert "You cannot open this page" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "title", "fewer", "everyone"),
    [
        ("en", "Are we closing the loop?", "fewer than 5", "Everyone"),
        ("cy", "Ydyn ni'n cau'r cylch?", "llai na 5", "Pawb"),
    ],
)
def test_staff_see_the_loop_and_whose_views_lead_to_change_in_their_language(
    council_loop, lang, title, fewer, everyone
):
    page = signed_in(council_loop).get(f"/dashboard?lang={lang}")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert f'<html lang="{lang}">' in html
    assert html.count("<h1>") == 1 and title.replace("'", "&#39;") in html
    assert "<svg" in html and 'scope="row"' in html  # each chart has its table
    assert fewer in html  # the four 18 to 24 year olds
    assert f'<th scope="row">{everyone}</th>' in html
    assert "65-74" in html
    for participant in ("@example.org", "Participant Number"):
        assert participant not in html  # aggregates only: no one's details


def test_the_numbers_are_the_same_as_the_json_report_and_count_only_the_councils_own(council_loop):
    loop = council_loop
    loop.contribute(loop.engagement(tenant=loop.other)["id"], tenant=loop.other)
    api = loop.intake_api()

    report = api.get("/v1/reports/dashboard").json

    coverage = report["coverage"]
    assert coverage["contributions"] == 16
    assert (coverage["with_decision"], coverage["share_with_decision"]) == (6, 0.375)
    age = {row["answer"]: row for row in report["equality"]["questions"]["age_band"]}
    assert age["65-74"]["decision_rate"] == 1.0
    assert age["18-24"]["people"] == "fewer than 5"
    assert report["outcomes_by_type"]["view"]["adopted"] == 6
    theirs = api.as_(tenant=loop.other).get("/v1/reports/dashboard").json
    assert theirs["coverage"]["contributions"] == 1


def test_filters_by_engagement_service_area_and_period(council_loop):
    loop = council_loop
    api = loop.intake_api()
    today = dt.datetime.now(UK).date()

    def counted(**query) -> int:
        response = api.get("/v1/reports/dashboard", query_string=query)
        assert response.status_code == 200, response.json
        return response.json["coverage"]["contributions"]

    assert counted(engagement_id=loop.children["id"]) == 1
    assert counted(service_area="Adult social care") == 15
    assert counted(**{"from": today.isoformat(), "to": today.isoformat()}) == 16
    assert counted(**{"to": (today - dt.timedelta(days=1)).isoformat()}) == 0

    page = signed_in(loop).get(f"/dashboard?engagement_id={loop.children['id']}&service_area=&from=&to=")
    assert page.status_code == 200
    assert "1 of 1" not in page.get_data(as_text=True)  # nothing decided there
    assert "0 of 1" in page.get_data(as_text=True)


def test_a_filter_that_makes_no_sense_is_explained_beside_its_field(council_loop):
    client = signed_in(council_loop)

    page = client.get("/dashboard?from=2027-05-01&to=2027-04-01")
    html = page.get_data(as_text=True)

    assert page.status_code == 400
    assert '<a href="#to">Enter the end date as a real date on or after the start date</a>' in html
    assert 'aria-invalid="true"' in html


def test_another_councils_engagement_is_refused_like_an_unknown_one(council_loop):
    loop = council_loop
    theirs = loop.engagement(tenant=loop.other)
    api = loop.intake_api()

    foreign = api.get("/v1/reports/dashboard", query_string={"engagement_id": theirs["id"]})
    unknown = api.get("/v1/reports/dashboard", query_string={"engagement_id": "00000000-0000-4000-8000-000000000000"})

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json == unknown.json
    page = signed_in(loop).get(f"/dashboard?engagement_id={theirs['id']}&lang=cy")
    assert page.status_code == 400
    assert "Dewiswch ymgysylltiad o&#39;r rhestr" in page.get_data(as_text=True)


def test_only_staff_keys_read_the_json_report(council_loop):
    api: ApiClient = council_loop.intake_api()

    assert api.as_("board").get("/v1/reports/dashboard").status_code == 403
    assert api.as_("case-system").get("/v1/reports/dashboard").status_code == 403
    assert api.get("/v1/reports/dashboard", query_string={"from": "not a date"}).status_code == 422


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_date_no_report_could_cover_is_refused_not_a_crash(loop, day):
    api = loop.intake_api()

    report = api.get("/v1/reports/dashboard", query_string={"to": day})
    page = signed_in(loop).get(f"/dashboard?to={day}")

    assert report.status_code == 422
    assert report.content_type == "application/problem+json"
    assert report.json["errors"] == {"to": ["Must be between 2000-01-01 and 2100-12-31."]}
    assert page.status_code == 400
    assert '<a href="#to">' in page.get_data(as_text=True)


_query_values = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.text(max_size=30),
    st.from_regex(r"[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}", fullmatch=True),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["from", "to", "engagement_id", "service_area", "lang"]), _query_values))
@example(query={"to": "9999-12-31"})
@example(query={"from": "0001-01-01", "to": "0001-01-01"})
def test_no_report_parameters_crash_the_report_or_the_page(loop, query):
    report = loop.intake_api().get("/v1/reports/dashboard", query_string=query)
    page = signed_in(loop).get("/dashboard", query_string=query)

    assert report.status_code in (200, 404, 422), report.json
    assert page.status_code in (200, 400)
