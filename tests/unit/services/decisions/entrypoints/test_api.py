"""Decisions' HTTP API through the Flask test client, on SQLite."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid

import pytest

from services.decisions.service_layer import services, views
from shared.infra.tables import utcnow
from tests.support import factories

PROBLEM = "application/problem+json"


def as_indexed(field: str) -> str:
    """`links.0.influence` -> `links[0].influence`: list positions, however they are spelled."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", field)


def assert_problem(response, status: int, *fields: str) -> dict:
    """An RFC 9457 problem with this status that names these fields in `errors`.

    A list position may be spelled `links.0.influence` or `links[0].influence` here; which
    spelling the API uses is pinned by its own test (TestFieldNames).
    """
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    named = {as_indexed(name) for name in body.get("errors", {})}
    for field in fields:
        assert as_indexed(field) in named, body
    return body


def without(payload: dict, *names: str) -> dict:
    return {k: v for k, v in payload.items() if k not in names}


def created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def board(decisions_api) -> dict:
    return created(decisions_api.as_(role="staff").post("/v1/boards", json=factories.board_payload()))


@pytest.fixture
def decision(decisions_api, board) -> dict:
    return created(decisions_api.post("/v1/decisions", json=factories.decision_payload(board["id"])))


@pytest.fixture
def change(decisions_api, decision) -> dict:
    return created(
        decisions_api.post(f"/v1/decisions/{decision['id']}/resource-changes", json=factories.resource_change_payload())
    )


def decision_count(decisions_api) -> int:
    return decisions_api.get("/v1/decisions").get_json()["total"]


class TestRecording:
    def test_a_decision_with_links_and_changes_is_201_with_its_location(self, decisions_api, board, new_contribution):
        known = new_contribution()
        unseen = str(uuid.uuid4())
        payload = factories.decision_payload(
            board["id"],
            links=[factories.link_payload(known["id"]), factories.link_payload(unseen)],
            resource_changes=[factories.resource_change_payload(amount="1250.5", currency="GBP")],
        )

        response = decisions_api.post("/v1/decisions", json=payload)

        body = created(response)
        assert response.headers["Location"] == f"/v1/decisions/{body['id']}"
        assert body["outcome"] == payload["outcome"]
        assert body["version"] == 1
        assert {link["contribution_id"]: link["state"] for link in body["links"]} == {
            known["id"]: "confirmed",
            unseen: "pending",
        }
        [change] = body["resource_changes"]
        assert (change["amount"], change["currency"], change["status"]) == ("1250.50", "GBP", "planned")
        assert [entry["status"] for entry in change["history"]] == ["planned"]
        again = decisions_api.get(response.headers["Location"]).get_json()
        assert again["id"] == body["id"]
        assert len(again["links"]) == 2
        assert [v["version"] for v in again["versions"]] == [1]

    @pytest.mark.parametrize("role", ["board", "staff"])
    def test_board_and_staff_may_record(self, decisions_api, board, role):
        payload = factories.decision_payload(board["id"])

        created(decisions_api.as_(role=role).post("/v1/decisions", json=payload))

    def test_an_adopted_decision_needs_no_rationale(self, decisions_api, board):
        payload = without(factories.decision_payload(board["id"], outcome="adopted"), "rationale")

        created(decisions_api.post("/v1/decisions", json=payload))

    def test_out_of_scope_naming_a_cannot_change_item_is_accepted(self, decisions_api, board, known_engagement):
        payload = factories.decision_payload(
            board["id"],
            outcome="out_of_scope",
            engagement_id=known_engagement["id"],
            scope_limit_kind="cannot_change",
            scope_limit=known_engagement["cannot_change"][0],
        )

        assert created(decisions_api.post("/v1/decisions", json=payload))["scope_limit"] == payload["scope_limit"]

    def test_thousands_of_contributions_in_one_request(self, decisions_api, decision):
        ids = [str(uuid.uuid4()) for _ in range(5_000)]
        body = {"links": [factories.link_payload(cid) for cid in ids]}

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=body)

        assert len(created(response)["links"]) == 5_000
        assert len(decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["links"]) == 5_000


class TestMalformedRequests:
    def test_malformed_json_is_400(self, decisions_api, board):
        response = decisions_api.post("/v1/decisions", data='{"board_id": ', content_type="application/json")

        assert_problem(response, 400)

    def test_a_body_that_is_not_json_is_415(self, decisions_api, board):
        response = decisions_api.post("/v1/decisions", data={"board_id": board["id"], "title": "Saturdays"})

        assert_problem(response, 415)

    def test_a_link_that_is_not_json_is_415(self, decisions_api, decision):
        response = decisions_api.post(
            f"/v1/decisions/{decision['id']}/links", data="contribution_id=x", content_type="text/plain"
        )

        assert_problem(response, 415)

    def test_a_resource_move_that_is_not_json_is_415(self, decisions_api, change):
        response = decisions_api.patch(
            f"/v1/resource-changes/{change['id']}", data="status=implemented", content_type="text/plain"
        )

        assert_problem(response, 415)

    def test_a_json_array_is_422(self, decisions_api, board):
        assert_problem(decisions_api.post("/v1/decisions", json=[factories.decision_payload(board["id"])]), 422)


def with_change(**fields):
    return lambda p: {**p, "resource_changes": [factories.resource_change_payload(**fields)]}


def with_links(*items):
    return lambda p: {**p, "links": list(items)}


SAME = str(uuid.uuid4())

INVALID_DECISIONS = {
    "not adopted without a rationale": (lambda p: {**p, "outcome": "not_adopted", "rationale": None}, "rationale"),
    "partly adopted with no rationale key": (lambda p: without(p, "rationale"), "rationale"),
    "blank rationale": (lambda p: {**p, "rationale": "  \n "}, "rationale"),
    "unknown outcome": (lambda p: {**p, "outcome": "maybe"}, "outcome"),
    "missing board": (lambda p: without(p, "board_id"), "board_id"),
    "unknown board": (lambda p: {**p, "board_id": str(uuid.uuid4())}, "board_id"),
    "missing title": (lambda p: without(p, "title"), "title"),
    "decided_on not a date": (lambda p: {**p, "decided_on": "last Tuesday"}, "decided_on"),
    "deferred without revisit_on": (lambda p: {**p, "outcome": "deferred"}, "revisit_on"),
    "out of scope naming nothing": (lambda p: {**p, "outcome": "out_of_scope"}, "scope_limit"),
    "out of scope with an unknown kind": (
        lambda p: {**p, "outcome": "out_of_scope", "scope_limit_kind": "politics", "scope_limit": "x"},
        "scope_limit_kind",
    ),
    "cannot_change without an engagement": (
        lambda p: {**p, "outcome": "out_of_scope", "scope_limit_kind": "cannot_change", "scope_limit": "budget"},
        "engagement_id",
    ),
    "empty influence": (with_links(factories.link_payload(SAME, influence="")), "links[0].influence"),
    "blank influence": (with_links(factories.link_payload(SAME, influence=" \t ")), "links[0].influence"),
    "no influence": (with_links({"contribution_id": SAME}), "links[0].influence"),
    "influence not text": (with_links(factories.link_payload(SAME, influence=["shaped it"])), "links[0].influence"),
    "a contribution listed twice": (
        with_links(
            factories.link_payload(SAME), factories.link_payload(str(uuid.uuid4())), factories.link_payload(SAME)
        ),
        "links[2].contribution_id",
    ),
    "negative amount": (with_change(amount="-100.00"), "resource_changes[0].amount"),
    "amount not a number": (with_change(amount="a lot"), "resource_changes[0].amount"),
    "NaN amount": (with_change(amount="NaN"), "resource_changes[0].amount"),
    "unknown currency": (with_change(currency="XYZ"), "resource_changes[0].currency"),
    "lower-case currency": (with_change(currency="gbp"), "resource_changes[0].currency"),
    "unknown resource kind": (with_change(kind="vibes"), "resource_changes[0].kind"),
    "no resource description": (with_change(description=""), "resource_changes[0].description"),
    "amount without currency": (
        lambda p: {
            **p,
            "resource_changes": [
                factories.resource_change_payload(),
                factories.resource_change_payload(currency=None),
            ],
        },
        "resource_changes[1].currency",
    ),
}


class TestInvalidDecisions:
    @pytest.mark.parametrize(("change", "field"), INVALID_DECISIONS.values(), ids=INVALID_DECISIONS.keys())
    def test_is_422_naming_the_field_and_nothing_is_kept(self, decisions_api, board, change, field):
        payload = change(factories.decision_payload(board["id"]))

        assert_problem(decisions_api.post("/v1/decisions", json=payload), 422, field)
        assert decision_count(decisions_api) == 0

    def test_out_of_scope_naming_something_the_engagement_can_change_is_422(
        self, decisions_api, board, known_engagement
    ):
        payload = factories.decision_payload(
            board["id"],
            outcome="out_of_scope",
            engagement_id=known_engagement["id"],
            scope_limit_kind="cannot_change",
            scope_limit=known_engagement["can_change"][0],
        )

        assert_problem(decisions_api.post("/v1/decisions", json=payload), 422, "scope_limit")

    def test_another_tenants_board_is_422_exactly_like_an_unknown_one(self, decisions_api, board, other_council):
        theirs = decisions_api.as_(tenant=other_council)

        foreign = theirs.post("/v1/decisions", json=factories.decision_payload(board["id"]))
        missing = theirs.post("/v1/decisions", json=factories.decision_payload(str(uuid.uuid4())))

        assert_problem(foreign, 422, "board_id")
        assert foreign.get_json() == missing.get_json()


class TestFieldNames:
    def test_a_list_position_is_named_the_same_way_whichever_rule_refuses_it(self, decisions_api, decision):
        """The schema (blank influence) and the board's rules (listed twice) name link 1 alike."""
        twice = str(uuid.uuid4())
        path = f"/v1/decisions/{decision['id']}/links"
        blank = {"links": [factories.link_payload(twice), factories.link_payload(str(uuid.uuid4()), influence=" ")]}
        doubled = {"links": [factories.link_payload(twice), factories.link_payload(twice)]}

        by_schema = decisions_api.post(path, json=blank).get_json()["errors"]
        by_rules = decisions_api.post(path, json=doubled).get_json()["errors"]

        assert list(by_rules) == ["links[1].contribution_id"]
        assert list(by_schema) == ["links[1].influence"]


class TestLinks:
    def test_one_link_is_201(self, decisions_api, decision, new_contribution):
        contribution = new_contribution()

        body = created(
            decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=factories.link_payload(contribution["id"]))
        )

        assert (body["contribution_id"], body["state"]) == (contribution["id"], "confirmed")

    @pytest.mark.parametrize("influence", ["", "   "], ids=["empty", "blank"])
    def test_one_link_without_influence_is_422(self, decisions_api, decision, influence):
        payload = factories.link_payload(str(uuid.uuid4()), influence=influence)

        assert_problem(decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=payload), 422, "influence")

    def test_many_links_with_one_blank_influence_is_422_naming_it(self, decisions_api, decision):
        body = {
            "links": [
                factories.link_payload(str(uuid.uuid4())),
                factories.link_payload(str(uuid.uuid4()), influence=" "),
            ]
        }

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=body)

        assert_problem(response, 422, "links[1].influence")
        assert decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["links"] == []

    def test_no_links_at_all_is_422(self, decisions_api, decision):
        assert_problem(decisions_api.post(f"/v1/decisions/{decision['id']}/links", json={"links": []}), 422, "links")

    def test_a_contribution_listed_twice_is_422(self, decisions_api, decision):
        twice = str(uuid.uuid4())
        body = {"links": [factories.link_payload(twice), factories.link_payload(twice)]}

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=body)

        assert_problem(response, 422, "links[1].contribution_id")

    def test_linking_an_already_linked_contribution_is_422_naming_it(self, decisions_api, decision, new_contribution):
        contribution = new_contribution()
        path = f"/v1/decisions/{decision['id']}/links"
        created(decisions_api.post(path, json=factories.link_payload(contribution["id"])))
        body = {"links": [factories.link_payload(str(uuid.uuid4())), factories.link_payload(contribution["id"])]}

        response = decisions_api.post(path, json=body)

        assert_problem(response, 422, "links[1].contribution_id")
        assert len(decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["links"]) == 1

    def test_linking_one_already_linked_contribution_is_422_naming_the_field_sent(
        self, decisions_api, decision, new_contribution
    ):
        contribution = new_contribution()
        path = f"/v1/decisions/{decision['id']}/links"
        created(decisions_api.post(path, json=factories.link_payload(contribution["id"])))

        response = decisions_api.post(path, json=factories.link_payload(contribution["id"]))

        # The body was {contribution_id, influence}: the problem names that field, as it does for influence.
        assert_problem(response, 422, "contribution_id")

    def test_unlinking_needs_a_reason(self, decisions_api, decision, new_contribution):
        contribution = new_contribution()
        created(
            decisions_api.post(f"/v1/decisions/{decision['id']}/links", json=factories.link_payload(contribution["id"]))
        )
        path = f"/v1/decisions/{decision['id']}/links/{contribution['id']}/unlink"

        assert_problem(decisions_api.post(path, json={}), 422, "reason")
        assert_problem(decisions_api.post(path, json={"reason": "  "}), 422, "reason")
        response = decisions_api.post(path, json={"reason": "Linked to the wrong decision."})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["unlink_reason"] == "Linked to the wrong decision."
        assert decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["links"] == []


class TestResourceChanges:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"amount": "-0.01"}, "amount"),
            ({"currency": "XXY"}, "currency"),
            ({"currency": None}, "currency"),
            ({"amount": None}, "amount"),
            ({"kind": "morale"}, "kind"),
            ({"effective_from": "next spring"}, "effective_from"),
            ({"progress_percent": 101}, "progress_percent"),
        ],
        ids=[
            "negative amount",
            "unknown currency",
            "amount without currency",
            "currency without amount",
            "unknown kind",
            "effective_from not a date",
            "progress over 100",
        ],
    )
    def test_invalid_is_422_naming_the_field(self, decisions_api, decision, fields, field):
        payload = factories.resource_change_payload(**fields)

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/resource-changes", json=payload)

        assert_problem(response, 422, field)
        assert decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["resource_changes"] == []

    def test_the_largest_amount_the_ledger_holds_is_kept_exactly(self, decisions_api, decision):
        payload = factories.resource_change_payload(amount="999999999999.99")

        body = created(decisions_api.post(f"/v1/decisions/{decision['id']}/resource-changes", json=payload))

        kept = decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["resource_changes"]
        assert body["amount"] == kept[0]["amount"] == "999999999999.99"

    def test_an_amount_too_large_to_keep_exactly_is_422(self, decisions_api, decision):
        """amount is NUMERIC(14, 2): PostgreSQL refuses more (a 500), SQLite keeps a float's rounding."""
        payload = factories.resource_change_payload(amount="12345678901234567.89")

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/resource-changes", json=payload)

        assert_problem(response, 422, "amount")

    def test_a_change_without_money_is_201(self, decisions_api, decision):
        payload = without(factories.resource_change_payload(kind="policy"), "amount", "currency")

        response = decisions_api.post(f"/v1/decisions/{decision['id']}/resource-changes", json=payload)

        body = created(response)
        assert response.headers["Location"] == f"/v1/resource-changes/{body['id']}"
        assert (body["amount"], body["currency"]) == (None, None)

    def test_status_moves_forward_and_back_with_a_note(self, decisions_api, change):
        path = f"/v1/resource-changes/{change['id']}"

        assert decisions_api.patch(path, json={"status": "in_progress", "note": "Recruiting."}).status_code == 200
        assert decisions_api.patch(path, json={"status": "implemented"}).status_code == 200
        refused = decisions_api.patch(path, json={"status": "in_progress"})
        blank = decisions_api.patch(path, json={"status": "planned", "note": "   "})
        back = decisions_api.patch(path, json={"status": "in_progress", "note": "One worker left."})

        assert_problem(refused, 422, "note")
        assert_problem(blank, 422, "note")
        assert back.status_code == 200, back.get_json()
        history = back.get_json()["history"]
        assert [(h["status"], h["note"]) for h in history] == [
            ("planned", None),
            ("in_progress", "Recruiting."),
            ("implemented", None),
            ("in_progress", "One worker left."),
        ]
        assert all(h["at"] for h in history)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"status": "done"}, "status"),
            ({}, "status"),
            ({"note": "Just a note."}, "status"),
            ({"status": "planned"}, "status"),
            ({"progress_percent": -1}, "progress_percent"),
            ({"progress_percent": "50"}, "progress_percent"),
        ],
        ids=["unknown status", "nothing", "only a note", "the same status", "negative progress", "progress as text"],
    )
    def test_an_invalid_move_is_422(self, decisions_api, change, body, field):
        assert_problem(decisions_api.patch(f"/v1/resource-changes/{change['id']}", json=body), 422, field)

    def test_a_cancelled_change_cannot_reopen(self, decisions_api, change):
        path = f"/v1/resource-changes/{change['id']}"
        assert decisions_api.patch(path, json={"status": "cancelled", "note": "No funding."}).status_code == 200

        assert_problem(decisions_api.patch(path, json={"status": "planned", "note": "Funding back."}), 422, "status")

    def test_progress_alone_is_recorded(self, decisions_api, change):
        path = f"/v1/resource-changes/{change['id']}"
        decisions_api.patch(path, json={"status": "in_progress"})

        response = decisions_api.patch(path, json={"progress_percent": 40, "note": "Two of five posts filled."})

        assert response.status_code == 200, response.get_json()
        assert (response.get_json()["status"], response.get_json()["progress_percent"]) == ("in_progress", 40)
        assert len(response.get_json()["history"]) == 3


class TestAmendments:
    def test_an_amendment_is_kept_as_a_new_version(self, decisions_api, decision):
        response = decisions_api.patch(
            f"/v1/decisions/{decision['id']}", json={"reason": "Minutes corrected.", "outcome": "adopted"}
        )

        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert (body["outcome"], body["version"]) == ("adopted", 2)
        assert [(v["version"], v["reason"]) for v in body["versions"]] == [(1, None), (2, "Minutes corrected.")]
        assert body["versions"][0]["snapshot"]["outcome"] == decision["outcome"]

    @pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
    def test_an_amendment_without_a_reason_is_422(self, decisions_api, decision, reason):
        body = {"title": "Something else"} if reason is None else {"title": "Something else", "reason": reason}

        assert_problem(decisions_api.patch(f"/v1/decisions/{decision['id']}", json=body), 422, "reason")
        assert decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()["version"] == 1

    def test_an_amendment_that_changes_nothing_is_422(self, decisions_api, decision):
        body = {"reason": "Just checking.", "title": decision["title"]}

        assert_problem(decisions_api.patch(f"/v1/decisions/{decision['id']}", json=body), 422)

    def test_an_amendment_that_breaks_a_rule_is_422_naming_it(self, decisions_api, decision):
        body = {"reason": "Board changed its mind.", "outcome": "deferred"}

        assert_problem(decisions_api.patch(f"/v1/decisions/{decision['id']}", json=body), 422, "revisit_on")

    def test_an_unknown_outcome_in_an_amendment_is_422(self, decisions_api, decision):
        body = {"reason": "Typo.", "outcome": "sort_of"}

        assert_problem(decisions_api.patch(f"/v1/decisions/{decision['id']}", json=body), 422, "outcome")


def endpoints(decision: dict, change: dict, contribution: dict, engagement: dict) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/v1/boards", None),
        ("get", f"/v1/boards/{decision['board_id']}", None),
        ("post", "/v1/decisions", factories.decision_payload(decision["board_id"])),
        ("get", "/v1/decisions", None),
        ("get", f"/v1/decisions/{decision['id']}", None),
        ("patch", f"/v1/decisions/{decision['id']}", {"reason": "r", "title": "t"}),
        ("post", f"/v1/decisions/{decision['id']}/links", factories.link_payload(contribution["id"])),
        (
            "post",
            f"/v1/decisions/{decision['id']}/links/{contribution['id']}/unlink",
            {"reason": "r"},
        ),
        ("post", f"/v1/decisions/{decision['id']}/resource-changes", factories.resource_change_payload()),
        ("patch", f"/v1/resource-changes/{change['id']}", {"status": "implemented"}),
        ("get", f"/v1/contributions/{contribution['id']}/outcome-chain", None),
        ("get", f"/v1/engagements/{engagement['id']}/you-said-we-did", None),
        ("get", "/v1/overdue", None),
    ]


class TestRoles:
    @pytest.mark.parametrize("role", ["case-system", "admin"])
    def test_case_systems_and_admins_may_not_touch_decisions(
        self, decisions_api, decision, change, new_contribution, known_engagement, role
    ):
        contribution = new_contribution()
        client = decisions_api.as_(role=role)

        for method, path, body in endpoints(decision, change, contribution, known_engagement):
            response = getattr(client, method)(path, **({"json": body} if body is not None else {}))
            assert_problem(response, 403)

        assert decision_count(decisions_api) == 1

    def test_a_case_system_may_not_create_a_board(self, decisions_api):
        assert_problem(decisions_api.as_(role="case-system").post("/v1/boards", json=factories.board_payload()), 403)

    def test_no_key_is_401(self, decisions_api, decision):
        response = decisions_api.client.get(f"/v1/decisions/{decision['id']}")

        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize("role", ["board", "staff"])
    def test_board_and_staff_may_read_the_chain(self, decisions_api, new_contribution, role):
        contribution = new_contribution()

        response = decisions_api.as_(role=role).get(f"/v1/contributions/{contribution['id']}/outcome-chain")

        assert response.status_code == 200, response.get_json()
        assert response.get_json()["contribution"]["id"] == contribution["id"]
        assert response.get_json()["status"] == "received"


class TestTenantIsolation:
    @pytest.mark.parametrize(
        "resource",
        [
            "decision",
            "board",
            "amending a decision",
            "linking to a decision",
            "a change to a decision",
            "resource change",
            "outcome chain",
            "you said we did",
            "you said we did as csv",
        ],
    )
    def test_another_tenants_id_is_404_exactly_like_an_unknown_one(
        self, decisions_api, other_council, decision, change, new_contribution, known_engagement, resource
    ):
        contribution = new_contribution()
        method, path, body, headers = {
            "decision": ("get", "/v1/decisions/{}", None, None),
            "board": ("get", "/v1/boards/{}", None, None),
            "amending a decision": ("patch", "/v1/decisions/{}", {"reason": "Mine now.", "title": "Mine"}, None),
            "linking to a decision": (
                "post",
                "/v1/decisions/{}/links",
                factories.link_payload(str(uuid.uuid4())),
                None,
            ),
            "a change to a decision": (
                "post",
                "/v1/decisions/{}/resource-changes",
                factories.resource_change_payload(),
                None,
            ),
            "resource change": ("patch", "/v1/resource-changes/{}", {"status": "cancelled", "note": "Mine."}, None),
            "outcome chain": ("get", "/v1/contributions/{}/outcome-chain", None, None),
            "you said we did": ("get", "/v1/engagements/{}/you-said-we-did", None, None),
            "you said we did as csv": ("get", "/v1/engagements/{}/you-said-we-did", None, {"Accept": "text/csv"}),
        }[resource]
        ours = {
            "decision": decision["id"],
            "board": decision["board_id"],
            "amending a decision": decision["id"],
            "linking to a decision": decision["id"],
            "a change to a decision": decision["id"],
            "resource change": change["id"],
            "outcome chain": contribution["id"],
            "you said we did": known_engagement["id"],
            "you said we did as csv": known_engagement["id"],
        }[resource]
        theirs = decisions_api.as_(tenant=other_council)
        kwargs = {"json": body} if body is not None else {}

        foreign = getattr(theirs, method)(path.format(ours), headers=headers, **kwargs)
        missing = getattr(theirs, method)(path.format(uuid.uuid4()), headers=headers, **kwargs)

        assert_problem(foreign, 404)
        assert foreign.get_json() == missing.get_json()

    def test_nothing_of_ours_changed_through_their_key(self, decisions_api, other_council, decision, change):
        theirs = decisions_api.as_(tenant=other_council)
        theirs.patch(f"/v1/decisions/{decision['id']}", json={"reason": "Mine now.", "title": "Mine"})
        theirs.patch(f"/v1/resource-changes/{change['id']}", json={"status": "cancelled", "note": "Mine."})

        ours = decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()

        assert (ours["title"], ours["version"]) == (decision["title"], 1)
        assert ours["resource_changes"][0]["status"] == "planned"

    @pytest.fixture
    def their_contribution(self, intake_api, other_council, feed) -> dict:
        """Another council's contribution, known to decisions' read model."""
        theirs_api = intake_api.as_(tenant=other_council)
        their_engagement = created(theirs_api.post("/v1/engagements", json=factories.engagement_payload()))
        theirs = created(
            theirs_api.post("/v1/contributions", json=factories.contribution_payload(their_engagement["id"]))
        )
        feed.deliver()
        return theirs

    @staticmethod
    def _same_but_for_ids(foreign, unknown, *ids: str) -> None:
        """Two answers alike once the ids in them (and every generated id and time) are set aside."""

        def shape(response) -> str:
            text = response.get_data(as_text=True)
            for value in ids:
                text = text.replace(value, "<contribution>")
            text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
            return re.sub(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(\+00:00|Z)?", "<time>", text)

        assert (foreign.status_code, foreign.mimetype) == (unknown.status_code, unknown.mimetype)
        assert shape(foreign) == shape(unknown)

    @pytest.mark.parametrize("many", [False, True], ids=["one link", "among many"])
    def test_linking_another_tenants_contribution_answers_exactly_like_an_unknown_id(
        self, decisions_api, board, their_contribution, many
    ):
        unknown_id = str(uuid.uuid4())
        answers = []
        for contribution_id in (their_contribution["id"], unknown_id):
            decision = created(decisions_api.post("/v1/decisions", json=factories.decision_payload(board["id"])))
            path = f"/v1/decisions/{decision['id']}/links"
            link = factories.link_payload(contribution_id)
            body = {"links": [factories.link_payload(str(uuid.uuid4())), link]} if many else link
            answers.append(decisions_api.post(path, json=body))

        foreign, unknown = answers
        assert foreign.status_code == 201
        their_link = foreign.get_json()["links"][-1] if many else foreign.get_json()
        assert their_link["state"] == "pending"
        self._same_but_for_ids(foreign, unknown, their_contribution["id"], unknown_id)
        assert their_contribution["reference"] not in foreign.get_data(as_text=True)

    def test_recording_a_decision_linking_another_tenants_contribution_answers_like_an_unknown_id(
        self, decisions_api, board, their_contribution
    ):
        unknown_id = str(uuid.uuid4())
        payload = factories.decision_payload(board["id"])
        foreign, unknown = (
            decisions_api.post("/v1/decisions", json={**payload, "links": [factories.link_payload(cid)]})
            for cid in (their_contribution["id"], unknown_id)
        )

        assert foreign.status_code == 201
        assert [link["state"] for link in foreign.get_json()["links"]] == ["pending"]
        self._same_but_for_ids(foreign, unknown, their_contribution["id"], unknown_id)

    def test_a_pending_link_to_another_tenants_contribution_never_reaches_it(
        self, decisions, decisions_api, intake_api, other_council, board, their_contribution, feed, announced
    ):
        payload = factories.decision_payload(board["id"], links=[factories.link_payload(their_contribution["id"])])
        decision = created(decisions_api.post("/v1/decisions", json=payload))

        # Their contribution's events arrive again, and the sweep that confirms late links runs.
        feed.delivered_up_to = 0
        feed.deliver()
        services.resolve_links(decisions.uow(), older_than=dt.timedelta(days=1), now=utcnow(), source=decisions.source)

        ours = decisions_api.get(f"/v1/decisions/{decision['id']}").get_json()
        assert [link["state"] for link in ours["links"]] == ["pending"]
        assert announced("contribution.linked") == []
        their_chain = decisions_api.as_(tenant=other_council, role="staff").get(
            f"/v1/contributions/{their_contribution['id']}/outcome-chain"
        )
        assert their_chain.status_code == 200
        assert their_chain.get_json()["decisions"] == []

    def test_lists_show_nothing_of_another_tenant(self, decisions_api, other_council, decision):
        theirs = decisions_api.as_(tenant=other_council)

        assert theirs.get("/v1/decisions").get_json()["total"] == 0
        assert theirs.get("/v1/boards").get_json() == {"items": []}


class TestYouSaidWeDid:
    @pytest.fixture
    def story(self, decisions_api, board, known_engagement, new_contribution) -> dict:
        first = new_contribution(known_engagement["id"], on_behalf_of=5)
        second = new_contribution(known_engagement["id"], type="complaint")
        payload = factories.decision_payload(
            board["id"],
            title="=1+1",
            engagement_id=known_engagement["id"],
            links=[factories.link_payload(first["id"]), factories.link_payload(second["id"])],
            resource_changes=[
                factories.resource_change_payload(description="@SUM(A1:A9)"),
                factories.resource_change_payload(kind="policy", description="New policy", amount=None, currency=None),
            ],
        )
        decision = created(decisions_api.post("/v1/decisions", json=payload))
        other = factories.decision_payload(board["id"], engagement_id=known_engagement["id"], rationale="-5 staff")
        created(decisions_api.post("/v1/decisions", json=other))
        return {"engagement": known_engagement, "decision": decision}

    def test_json_by_default(self, decisions_api, story):
        response = decisions_api.get(f"/v1/engagements/{story['engagement']['id']}/you-said-we-did")

        assert response.status_code == 200
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert body["you_said"]["contributions"] == 2
        assert body["you_said"]["people_represented"] == 6
        assert body["you_said"]["by_type"]["complaint"] == 1
        assert body["closing_the_loop"]["share_with_decision"] == 1.0
        assert len(body["we_did"]) == 2

    def test_csv_when_asked(self, decisions_api, story):
        response = decisions_api.get(
            f"/v1/engagements/{story['engagement']['id']}/you-said-we-did", headers={"Accept": "text/csv"}
        )

        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        reader = csv.reader(io.StringIO(response.get_data(as_text=True)))
        header, *rows = list(reader)
        assert tuple(header) == views.CSV_COLUMNS
        assert [row[0] for row in rows].count("decision") == 2
        assert sorted(row[0] for row in rows if row[0] != "decision") == [
            "resource_change:policy",
            "resource_change:staffing",
        ]
        cells = [cell for row in rows for cell in row]
        assert "'=1+1" in cells
        assert "'@SUM(A1:A9)" in cells
        assert "'-5 staff" in cells
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]

    def test_csv_for_an_engagement_with_nothing_decided_is_just_the_header(self, decisions_api, known_engagement):
        response = decisions_api.get(
            f"/v1/engagements/{known_engagement['id']}/you-said-we-did", headers={"Accept": "text/csv"}
        )

        assert response.get_data(as_text=True).splitlines() == [",".join(views.CSV_COLUMNS)]


class TestDates:
    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
    def test_a_decision_dated_where_no_board_sat_is_422(self, decisions_api, board, day):
        refused = decisions_api.post("/v1/decisions", json=factories.decision_payload(board["id"], decided_on=day))

        assert assert_problem(refused, 422, "decided_on")["errors"]["decided_on"] == [
            "Must be between 2000-01-01 and 2100-12-31."
        ]
        assert decision_count(decisions_api) == 0

    def test_revisiting_before_deciding_is_422_when_recorded_or_amended(self, decisions_api, board, decision):
        early = factories.decision_payload(
            board["id"], decided_on="2026-06-10", outcome="deferred", revisit_on="2026-06-09"
        )

        recorded = decisions_api.post("/v1/decisions", json=early)
        amended = decisions_api.patch(
            f"/v1/decisions/{decision['id']}",
            json={"reason": "Looked again.", "decided_on": "2026-06-10", "revisit_on": "2026-06-09"},
        )

        assert assert_problem(recorded, 422, "revisit_on")["errors"]["revisit_on"] == [
            "Must be on or after decided_on."
        ]
        assert_problem(amended, 422, "revisit_on")
        assert decision_count(decisions_api) == 1
        assert (
            decisions_api.patch(
                f"/v1/decisions/{decision['id']}",
                json={"reason": "Looked again.", "revisit_on": decision["decided_on"]},
            ).status_code
            == 200
        )
