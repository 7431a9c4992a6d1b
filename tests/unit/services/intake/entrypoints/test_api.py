"""Intake's HTTP API through the Flask test client, on SQLite."""

from __future__ import annotations

import json
import uuid

import pytest

from shared.messaging.consumer import Message
from shared.messaging.events import dumps
from shared.rules.constants import SUBMISSIONS_TOPIC
from tests.support import factories
from tests.support.api import scrape

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, *fields: str) -> dict:
    """An RFC 9457 problem with this status that names these fields in `errors`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    for field in fields:
        assert field in body.get("errors", {}), body
    return body


def new_contribution(intake_api, engagement_id: str, **overrides) -> dict:
    response = intake_api.post("/v1/contributions", json=factories.contribution_payload(engagement_id, **overrides))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def new_engagement(intake_api) -> dict:
    response = intake_api.post("/v1/engagements", json=factories.engagement_payload())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def new_participant(intake_api) -> dict:
    response = intake_api.post("/v1/participants", json=factories.participant_payload())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def new_dead_letter(intake, intake_api) -> dict:
    """A case system's event for an engagement that does not exist, as staff see it."""
    event = factories.submission_event(intake_api.tenant.slug, factories.contribution_payload(str(uuid.uuid4())))
    intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, 0, None, dumps(event))])
    [found] = intake_api.get("/v1/dead-letters").get_json()["items"]
    return found


def without(payload: dict, *names: str) -> dict:
    return {k: v for k, v in payload.items() if k not in names}


def with_participant(payload: dict, **changes) -> dict:
    return {**payload, "participant": {**payload["participant"], **changes}}


class TestMalformedRequests:
    def test_malformed_json_is_400(self, intake_api, engagement):
        response = intake_api.post("/v1/contributions", data='{"engagement_id": ', content_type="application/json")

        assert_problem(response, 400)

    def test_json_nested_too_deeply_to_decode_is_400(self, intake_api, engagement):
        too_deep = "[" * 30_000 + "]" * 30_000

        response = intake_api.post("/v1/contributions", data=too_deep, content_type="application/json")

        assert_problem(response, 400)

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
    def test_json_in_any_encoding_but_plain_utf8_is_400(self, intake_api, engagement, encoding):
        body = json.dumps(factories.contribution_payload(engagement["id"])).encode(encoding)

        response = intake_api.post("/v1/contributions", data=body, content_type="application/json")

        assert_problem(response, 400)
        assert intake_api.get("/v1/contributions").get_json()["total"] == 0

    def test_a_body_that_is_not_json_is_415(self, intake_api, engagement):
        response = intake_api.post("/v1/contributions", data={"engagement_id": engagement["id"], "text": "hello"})

        assert_problem(response, 415)

    def test_a_body_over_64_kib_is_413(self, intake_api, engagement):
        payload = factories.contribution_payload(engagement["id"], text="a" * (65 * 1024))

        assert_problem(intake_api.post("/v1/contributions", json=payload), 413)

    def test_a_json_array_is_422(self, intake_api, engagement):
        payload = [factories.contribution_payload(engagement["id"])]

        assert_problem(intake_api.post("/v1/contributions", json=payload), 422)


INVALID_CONTRIBUTIONS = {
    "missing engagement_id": (lambda p: without(p, "engagement_id"), "engagement_id"),
    "missing type": (lambda p: without(p, "type"), "type"),
    "missing text": (lambda p: without(p, "text"), "text"),
    "missing channel": (lambda p: without(p, "channel"), "channel"),
    "missing participant consent": (
        lambda p: {**p, "participant": without(p["participant"], "consent_to_contact")},
        "participant.consent_to_contact",
    ),
    "on_behalf_of as a string": (lambda p: {**p, "on_behalf_of": "3"}, "on_behalf_of"),
    "on_behalf_of zero": (lambda p: {**p, "on_behalf_of": 0}, "on_behalf_of"),
    "unknown type": (lambda p: {**p, "type": "opinion"}, "type"),
    "unknown channel": (lambda p: {**p, "channel": "fax"}, "channel"),
    "unknown preferred_channel": (
        lambda p: with_participant(p, preferred_channel="pigeon"),
        "participant.preferred_channel",
    ),
    "unknown format": (lambda p: with_participant(p, format="braille"), "participant.format"),
    "empty text": (lambda p: {**p, "text": ""}, "text"),
    "blank text": (lambda p: {**p, "text": " \n\t "}, "text"),
    "text over 10,000 characters": (lambda p: {**p, "text": "a" * 10_001}, "text"),
    "unknown engagement": (lambda p: {**p, "engagement_id": str(uuid.uuid4())}, "engagement_id"),
    "unknown participant_id": (
        lambda p: {**without(p, "participant"), "participant_id": str(uuid.uuid4())},
        "participant_id",
    ),
    "both participant and participant_id": (lambda p: {**p, "participant_id": str(uuid.uuid4())}, "participant_id"),
    "neither participant nor participant_id": (lambda p: without(p, "participant"), "participant_id"),
    "email channel without an email": (lambda p: with_participant(p, email=None), "participant.email"),
    "submitted in the future": (lambda p: {**p, "submitted_at": "2999-01-01T00:00:00+00:00"}, "submitted_at"),
    "submitted on the last day Python knows": (
        lambda p: {**p, "submitted_at": "9999-12-31T23:59:59-14:00"},
        "submitted_at",
    ),
    "submitted in year 1": (lambda p: {**p, "submitted_at": "0001-01-01T00:00:00+14:00"}, "submitted_at"),
    "consent as 0": (lambda p: with_participant(p, consent_to_contact=0), "participant.consent_to_contact"),
    "consent as 1": (lambda p: with_participant(p, consent_to_contact=1), "participant.consent_to_contact"),
    "consent as a string": (
        lambda p: with_participant(p, consent_to_contact="false"),
        "participant.consent_to_contact",
    ),
}


class TestInvalidContributions:
    @pytest.mark.parametrize(("change", "field"), INVALID_CONTRIBUTIONS.values(), ids=INVALID_CONTRIBUTIONS.keys())
    def test_is_422_naming_the_field(self, intake_api, engagement, change, field):
        payload = change(factories.contribution_payload(engagement["id"]))

        assert_problem(intake_api.post("/v1/contributions", json=payload), 422, field)

    def test_the_problem_never_quotes_what_was_sent(self, intake_api, engagement):
        person = factories.participant_payload(email="not-an-address", phone="call me")
        payload = factories.contribution_payload(engagement["id"], participant=person)

        response = intake_api.post("/v1/contributions", json=payload)

        text = json.dumps(assert_problem(response, 422, "participant.email", "participant.phone"))
        assert "not-an-address" not in text
        assert "call me" not in text

    @pytest.mark.parametrize(
        ("details", "field", "message"),
        [
            ({"preferred_channel": "sms", "phone": "029 2087 2087"}, "participant.phone", "not a mobile number"),
            ({"phone": "07700 9001"}, "participant.phone", "Enter a phone number"),
            (
                {"preferred_channel": "post", **factories.postal_address(postcode="CF1O 1BH")},
                "participant.postcode",
                "UK postcode",
            ),
            ({"preferred_channel": "post", "postcode": "CF10 1BH"}, "participant.address_lines", "Required"),
        ],
    )
    def test_a_number_or_address_that_will_not_do_is_422_on_its_field(
        self, intake_api, engagement, details, field, message
    ):
        person = factories.participant_payload(**details)
        payload = factories.contribution_payload(engagement["id"], participant=person)

        problem = assert_problem(intake_api.post("/v1/contributions", json=payload), 422, field)
        assert message in " ".join(problem["errors"][field])

    def test_nothing_is_stored_for_a_refused_contribution(self, intake_api, engagement):
        payload = factories.contribution_payload(engagement["id"], type="opinion")
        intake_api.post("/v1/contributions", json=payload)

        assert intake_api.get("/v1/contributions").get_json()["total"] == 0

    def test_an_engagement_without_a_title_is_422(self, intake_api):
        payload = without(factories.engagement_payload(), "title")

        assert_problem(intake_api.post("/v1/engagements", json=payload), 422, "title")

    def test_an_engagement_due_in_the_past_is_422(self, intake_api):
        payload = factories.engagement_payload(feedback_due="2020-01-31")

        assert_problem(intake_api.post("/v1/engagements", json=payload), 422, "feedback_due")


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("get", "/v1/engagements"), ("post", "/v1/contributions"), ("get", "/v1/dead-letters")],
    )
    def test_no_key_is_401_with_a_bearer_challenge(self, intake_api, method, path):
        response = getattr(intake_api.client, method)(path)

        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer oc_0123456789abcdef_not-the-secret", "Bearer ", "Basic d2lsdHNoaXJlOnBhc3N3b3Jk", "oc_abc_def"],
    )
    def test_a_bad_key_is_401_with_a_bearer_challenge(self, intake_api, authorization):
        response = intake_api.client.get("/v1/engagements", headers={"Authorization": authorization})

        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"

    def test_a_revoked_key_is_401_at_once(self, intake, intake_api, council):
        assert intake_api.get("/v1/engagements").status_code == 200

        intake.keys.revoke(council.key_ids["staff"])

        assert_problem(intake_api.get("/v1/engagements"), 401)


class TestRoles:
    def test_a_board_may_not_post_a_contribution(self, intake_api, engagement):
        payload = factories.contribution_payload(engagement["id"])

        assert_problem(intake_api.as_(role="board").post("/v1/contributions", json=payload), 403)

    def test_a_case_system_may_not_create_an_engagement(self, intake_api):
        response = intake_api.as_(role="case-system").post("/v1/engagements", json=factories.engagement_payload())

        assert_problem(response, 403)

    def test_an_admin_may_not_read_contributions(self, intake_api, engagement):
        created = new_contribution(intake_api, engagement["id"])
        admin = intake_api.as_(role="admin")

        assert_problem(admin.get("/v1/contributions"), 403)
        assert_problem(admin.get(f"/v1/contributions/{created['id']}"), 403)

    def test_a_board_may_read_contributions(self, intake_api, engagement):
        created = new_contribution(intake_api, engagement["id"])

        response = intake_api.as_(role="board").get(f"/v1/contributions/{created['id']}")

        assert response.status_code == 200
        assert response.get_json()["reference"] == created["reference"]


class TestTenantIsolation:
    @pytest.mark.parametrize("resource", ["engagement", "contribution", "participant", "dead letter"])
    def test_another_tenants_id_is_404_exactly_like_an_unknown_one(
        self, intake, intake_api, other_council, engagement, resource
    ):
        ours = {
            "engagement": lambda: f"/v1/engagements/{engagement['id']}",
            "contribution": lambda: f"/v1/contributions/{new_contribution(intake_api, engagement['id'])['id']}",
            "participant": lambda: f"/v1/participants/{new_participant(intake_api)['id']}",
            "dead letter": lambda: f"/v1/dead-letters/{new_dead_letter(intake, intake_api)['id']}",
        }[resource]()
        unknown = ours.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
        theirs = intake_api.as_(tenant=other_council)

        foreign = theirs.get(ours)
        missing = theirs.get(unknown)

        assert_problem(foreign, 404)
        assert foreign.get_json() == missing.get_json()

    def test_replaying_another_tenants_dead_letter_is_404_exactly_like_an_unknown_one(
        self, intake, intake_api, other_council
    ):
        ours = new_dead_letter(intake, intake_api)
        theirs = intake_api.as_(tenant=other_council)

        foreign = theirs.post(f"/v1/dead-letters/{ours['id']}/replay")
        missing = theirs.post(f"/v1/dead-letters/{uuid.uuid4()}/replay")

        assert_problem(foreign, 404)
        assert foreign.get_json() == missing.get_json()
        assert intake_api.get(f"/v1/dead-letters/{ours['id']}").get_json()["replay_count"] == 0

    def test_another_tenants_engagement_cannot_take_contributions(self, intake_api, other_council, engagement):
        theirs = intake_api.as_(tenant=other_council)

        foreign = theirs.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        missing = theirs.post("/v1/contributions", json=factories.contribution_payload(str(uuid.uuid4())))

        assert_problem(foreign, 422, "engagement_id")
        assert foreign.get_json() == missing.get_json()

    def test_lists_show_nothing_of_another_tenant(self, intake, intake_api, other_council, engagement):
        new_contribution(intake_api, engagement["id"])
        new_dead_letter(intake, intake_api)
        theirs = intake_api.as_(tenant=other_council)

        for path in ("/v1/engagements", "/v1/contributions", "/v1/dead-letters"):
            listed = theirs.get(path).get_json()
            assert (listed["items"], listed["total"]) == ([], 0), path


class TestCaseSystemVisibility:
    def test_a_case_system_sees_only_what_case_systems_submitted(self, intake_api, engagement):
        keyed_in_by_staff = new_contribution(intake_api, engagement["id"], channel="phone")
        case_system = intake_api.as_(role="case-system")
        response = case_system.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        submitted = response.get_json()

        listed = case_system.get("/v1/contributions").get_json()

        assert [item["id"] for item in listed["items"]] == [submitted["id"]]
        assert listed["total"] == 1
        assert_problem(case_system.get(f"/v1/contributions/{keyed_in_by_staff['id']}"), 404)
        assert case_system.get(f"/v1/contributions/{submitted['id']}").status_code == 200

    def test_staff_see_every_contribution(self, intake_api, engagement):
        new_contribution(intake_api, engagement["id"], channel="phone")
        intake_api.as_(role="case-system").post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"])
        )

        assert intake_api.get("/v1/contributions").get_json()["total"] == 2


class TestPagination:
    def test_contributions_come_in_pages_without_overlap(self, intake_api, engagement):
        created = {new_contribution(intake_api, engagement["id"])["id"] for _ in range(5)}

        pages = [intake_api.get(f"/v1/contributions?per_page=2&page={n}").get_json() for n in (1, 2, 3)]

        assert [len(page["items"]) for page in pages] == [2, 2, 1]
        assert {page["total"] for page in pages} == {5}
        assert [(page["page"], page["per_page"]) for page in pages] == [(1, 2), (2, 2), (3, 2)]
        assert {item["id"] for page in pages for item in page["items"]} == created

    def test_contributions_filter_by_engagement(self, intake_api, engagement):
        other = new_engagement(intake_api)
        mine = new_contribution(intake_api, engagement["id"])
        new_contribution(intake_api, other["id"])

        listed = intake_api.get(f"/v1/contributions?engagement_id={engagement['id']}").get_json()

        assert [item["id"] for item in listed["items"]] == [mine["id"]]

    def test_engagements_come_in_pages_without_overlap(self, intake_api):
        created = {new_engagement(intake_api)["id"] for _ in range(3)}

        pages = [intake_api.get(f"/v1/engagements?per_page=2&page={n}").get_json() for n in (1, 2)]

        assert [len(page["items"]) for page in pages] == [2, 1]
        assert {page["total"] for page in pages} == {3}
        assert {item["id"] for page in pages for item in page["items"]} == created

    @pytest.mark.parametrize("query", ["page=0", "page=two", "per_page=500"])
    def test_a_bad_page_is_422(self, intake_api, query):
        field = query.split("=")[0]

        assert_problem(intake_api.get(f"/v1/contributions?{query}"), 422, field)


class TestIdempotencyKey:
    def test_a_repeat_returns_the_first_contribution_marked_as_replayed(self, intake_api, engagement):
        payload = factories.contribution_payload(engagement["id"])
        headers = {"Idempotency-Key": f"case-{uuid.uuid4()}"}

        first = intake_api.post("/v1/contributions", json=payload, headers=headers)
        again = intake_api.post("/v1/contributions", json=payload, headers=headers)

        assert (first.status_code, again.status_code) == (201, 201)
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert (again.get_json()["id"], again.get_json()["reference"]) == (
            first.get_json()["id"],
            first.get_json()["reference"],
        )
        assert intake_api.get("/v1/contributions").get_json()["total"] == 1

    def test_another_body_under_a_used_key_is_422(self, intake_api, engagement):
        headers = {"Idempotency-Key": f"case-{uuid.uuid4()}"}
        intake_api.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]), headers=headers)

        response = intake_api.post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"]), headers=headers
        )

        assert_problem(response, 422, "Idempotency-Key")

    def test_a_key_over_255_characters_is_422(self, intake_api, engagement):
        response = intake_api.post(
            "/v1/contributions",
            json=factories.contribution_payload(engagement["id"]),
            headers={"Idempotency-Key": "k" * 256},
        )

        assert_problem(response, 422, "Idempotency-Key")


class TestDeadLetters:
    def test_staff_see_why_an_event_was_refused(self, intake, intake_api):
        listed = new_dead_letter(intake, intake_api)

        assert listed["status"] == "open"
        assert "engagement_id" in listed["reason"]
        assert listed["topic"] == SUBMISSIONS_TOPIC

    def test_replaying_one_that_is_still_bad_is_422_with_the_reason(self, intake, intake_api):
        listed = new_dead_letter(intake, intake_api)

        response = intake_api.post(f"/v1/dead-letters/{listed['id']}/replay")

        body = assert_problem(response, 422, "event")
        assert "engagement_id" in body["errors"]["event"][0]
        assert intake_api.get(f"/v1/dead-letters/{listed['id']}").get_json()["replay_count"] == 1


class TestOperations:
    def test_healthz_answers_without_a_key_and_shows_kafka_unreachable(self, intake_api):
        response = intake_api.client.get("/healthz")

        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "service": "intake", "checks": {"kafka": "unreachable"}}

    def test_readyz_is_ready_while_the_database_answers_though_no_broker_does(self, intake_api):
        response = intake_api.client.get("/readyz")

        assert response.status_code == 200
        assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}

    def test_metrics_expose_the_outbox_backlog(self, intake_api, engagement):
        response = scrape(intake_api.client)

        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        assert 'outbox_backlog{service="intake"} 1.0' in response.get_data(as_text=True).splitlines()

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("get", "/healthz", None),
            ("get", "/v1/engagements", None),
            ("post", "/v1/contributions", {"type": "view"}),
            ("get", "/v1/contributions/00000000-0000-4000-8000-000000000000", None),
        ],
    )
    def test_security_headers_are_on_every_answer(self, intake_api, method, path, body):
        response = getattr(intake_api, method)(path, **({"json": body} if body else {}))

        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


class TestUnstorableInput:
    def test_nul_and_lone_surrogates_are_400_not_500(self, intake_api, engagement):
        for text in ("a \x00 b", "a \ud800 b"):
            body = factories.contribution_payload(engagement["id"], text=text)
            response = intake_api.as_("case-system").post("/v1/contributions", json=body)
            assert response.status_code == 400
            assert response.content_type == "application/problem+json"

    def test_a_submission_date_in_year_one_is_422(self, intake_api, engagement):
        body = factories.contribution_payload(engagement["id"], submitted_at="0001-01-01T00:00:00+01:00")
        response = intake_api.as_("case-system").post("/v1/contributions", json=body)
        assert response.status_code == 422
        assert "submitted_at" in response.json["errors"]


class TestDeadLetterAnswers:
    def test_a_record_that_is_no_cloudevent_is_listed_with_null_attributes_as_documented(self, intake, intake_api):
        not_an_event = {"tenant": intake_api.tenant.slug, "note": "Jane Doe, 12 Elm Road"}
        intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, 0, None, dumps(not_an_event))])
        document = intake_api.client.get("/openapi.json").get_json()
        declared = document["components"]["schemas"]["DeadLetter"]["properties"]

        [listed] = intake_api.get("/v1/dead-letters").get_json()["items"]

        assert (listed["event_source"], listed["event_id"], listed["event_type"]) == (None, None, None)
        assert {name for name, value in listed.items() if value is None} <= {
            name for name, schema in declared.items() if schema.get("nullable")
        }

    def test_what_the_sender_wrote_in_an_attribute_is_not_shown_back(self, intake, intake_api):
        event = factories.submission_event(intake_api.tenant.slug, factories.contribution_payload(str(uuid.uuid4())))
        event["type"] = "Jane Doe <jane@example.org>"
        intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, 0, None, dumps(event))])

        answer = intake_api.get("/v1/dead-letters")

        [listed] = answer.get_json()["items"]
        assert listed["event_type"] == "(not shown: not a valid event type)"
        assert "jane" not in answer.get_data(as_text=True).lower()


class TestExternalRef:
    def test_a_case_systems_reference_finds_the_same_person_again(self, intake_api, intake):
        person = factories.participant_payload(external_ref="CHILDREN-0042")

        first = intake_api.post("/v1/participants", json=person)
        again = intake_api.post("/v1/participants", json={**person, "language": "cy"})

        assert (first.status_code, again.status_code) == (201, 200)
        assert again.get_json()["id"] == first.get_json()["id"]
        shown = intake_api.get(f"/v1/participants/{first.get_json()['id']}").get_json()
        assert (shown["external_ref"], shown["language"]) == ("CHILDREN-0042", "cy")
        with intake.engine.connect() as connection:
            stored = " ".join(str(v) for row in connection.exec_driver_sql("SELECT * FROM participants") for v in row)
        assert "CHILDREN-0042" not in stored


class TestChangingAndClosingEngagements:
    def test_an_engagement_offers_english_unless_told_otherwise(self, intake_api):
        engagement = new_engagement(intake_api)

        assert (engagement["languages"], engagement["closed_at"]) == (["en"], None)

    def test_put_replaces_the_details_and_close_closes_it_once(self, intake_api):
        engagement = new_engagement(intake_api)
        changed = intake_api.put(
            f"/v1/engagements/{engagement['id']}", json=factories.engagement_payload(title="New", languages=["cy"])
        )
        closed = intake_api.post(f"/v1/engagements/{engagement['id']}/close")
        again = intake_api.post(f"/v1/engagements/{engagement['id']}/close")

        assert changed.status_code == 200 and (changed.json["title"], changed.json["languages"]) == ("New", ["cy"])
        assert closed.status_code == again.status_code == 200
        assert closed.json["closed_at"] == again.json["closed_at"] is not None

    def test_a_closed_engagement_cannot_be_changed(self, intake_api):
        engagement = new_engagement(intake_api)
        intake_api.post(f"/v1/engagements/{engagement['id']}/close")

        refused = intake_api.put(f"/v1/engagements/{engagement['id']}", json=factories.engagement_payload())

        assert assert_problem(refused, 422, "engagement_id")["errors"]["engagement_id"] == [
            "This engagement is closed."
        ]

    def test_a_language_that_is_not_a_tag_is_refused(self, intake_api):
        refused = intake_api.post("/v1/engagements", json=factories.engagement_payload(languages=["Welsh!"]))

        assert_problem(refused, 422, "languages[0]")
