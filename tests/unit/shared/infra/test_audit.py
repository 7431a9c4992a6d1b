"""The audit log: who read or changed what, written by every service, read only by admin."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from shared.infra.audit import audit_log
from shared.rules.constants import ROLE_BOARD, ROLE_CASE_SYSTEM, ROLE_STAFF
from tests.support import factories
from tests.support.api import ApiClient


def audit_of(client: ApiClient, **query) -> list[dict]:
    answer = client.as_("admin").get("/v1/audit", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


def every_row(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as connection:
        return connection.execute(sa.select(audit_log)).all()


@pytest.fixture
def participant(api) -> dict:
    created = api["intake"].as_("case-system").post("/v1/participants", json=factories.participant_payload())
    assert created.status_code == 201, created.json
    return created.json


def test_a_change_is_recorded_with_who_made_it(api, wiltshire, clock):
    created = api["intake"].post("/v1/engagements", json=factories.engagement_payload()).json

    [entry] = audit_of(api["intake"])
    assert entry == {
        "id": entry["id"],
        "at": clock().isoformat(),
        "key_id": wiltshire.key_ids["staff"],
        "role": "staff",
        "action": "create",
        "method": "POST",
        "route": "/v1/engagements",
        "resource_ids": {},
        "status": 201,
        "personal_data": False,
        # A key is a machine's (or `make run`'s): no person behind it.
        "person_issuer": None,
        "person_subject": None,
        "person_name": None,
    }
    assert created["id"]


def test_a_read_of_personal_data_is_recorded_and_the_data_is_not(api, platforms, wiltshire, participant):
    read = api["intake"].get(f"/v1/participants/{participant['id']}")
    assert read.status_code == 200 and read.json["email"]

    entry = audit_of(api["intake"], action="read")[0]
    assert entry["route"] == "/v1/participants/<participant_id>"
    assert entry["resource_ids"] == {"participant_id": participant["id"]}
    assert (entry["key_id"], entry["role"], entry["personal_data"]) == (wiltshire.key_ids["staff"], "staff", True)
    stored = repr(every_row(platforms["intake"].engine))
    assert read.json["email"] not in stored and read.json["name"] not in stored


def test_a_read_of_nothing_personal_is_not_recorded(api):
    api["intake"].post("/v1/engagements", json=factories.engagement_payload())
    api["intake"].get("/v1/engagements")
    api["decisions"].get("/v1/boards")

    assert [e["method"] for e in audit_of(api["intake"])] == ["POST"]
    assert audit_of(api["decisions"]) == []


def test_query_values_are_never_stored(api, platforms, participant):
    secret_looking = "ann.example@example.org"
    api["intake"].get("/v1/contributions", query_string={"engagement_id": secret_looking[:36]})
    api["notifier"].get("/v1/notifications", query_string={"participant_id": participant["id"]})

    for service in ("intake", "notifier"):
        stored = repr(every_row(platforms[service].engine))
        assert secret_looking not in stored
    [listed] = audit_of(api["notifier"])
    assert (listed["route"], listed["resource_ids"], listed["personal_data"]) == ("/v1/notifications", {}, True)


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    [
        ("intake", "GET", "/v1/contributions/{id}", None),
        ("decisions", "GET", "/v1/contributions/{id}/outcome-chain", None),
        ("notifier", "GET", "/v1/participants/{id}/preferences", None),
        ("notifier", "PUT", "/v1/participants/{id}/preferences", factories.preferences_payload()),
    ],
)
def test_each_service_records_its_own_personal_data_routes(api, wiltshire, service, method, path, body):
    unknown = "11111111-2222-3333-4444-555555555555"
    answer = api[service].client.open(
        path.format(id=unknown),
        method=method,
        json=body,
        headers={"Authorization": f"Bearer {wiltshire.keys['staff']}"},
    )
    assert answer.status_code == 404

    [entry] = audit_of(api[service])
    assert entry["status"] == 404  # refused attempts are recorded too
    assert entry["personal_data"] is True
    assert list(entry["resource_ids"].values()) == [unknown]
    assert entry["action"] == ("read" if method == "GET" else "update")


def test_refused_attempts_are_recorded_with_the_key_that_tried(api, wiltshire, platforms):
    api["intake"].as_("board").post("/v1/engagements", json=factories.engagement_payload())
    key_id, key = platforms["intake"].keys.create_key(wiltshire.slug, "staff", label="lost laptop")
    platforms["intake"].keys.revoke(key_id)
    api["intake"].client.post(
        "/v1/engagements", json=factories.engagement_payload(), headers={"Authorization": f"Bearer {key}"}
    )
    api["intake"].client.post("/v1/engagements", json=factories.engagement_payload())  # no key: nobody to record

    revoked, forbidden = audit_of(api["intake"])
    assert (forbidden["key_id"], forbidden["role"], forbidden["status"]) == (wiltshire.key_ids["board"], "board", 403)
    assert (revoked["key_id"], revoked["role"], revoked["status"]) == (key_id, "staff", 401)


def test_a_post_that_revokes_replays_or_unlinks_is_an_update(api):
    admin = api["notifier"].as_("admin")
    created = admin.post("/v1/keys", json={"role": "board"}).json
    admin.post(f"/v1/keys/{created['id']}/revoke")
    unknown = "11111111-2222-3333-4444-555555555555"
    api["notifier"].post(f"/v1/dead-letters/{unknown}/replay")
    api["decisions"].post(f"/v1/decisions/{unknown}/links/{unknown}/unlink", json=factories.unlink_payload())

    actions = [(e["action"], e["route"]) for e in audit_of(api["notifier"])]
    assert actions == [
        ("update", "/v1/dead-letters/<dead_letter_id>/replay"),
        ("update", "/v1/keys/<key_id>/revoke"),
        ("create", "/v1/keys"),
    ]
    [unlink] = audit_of(api["decisions"])
    assert (unlink["action"], unlink["status"]) == ("update", 404)


def test_the_log_is_searched_by_key_role_action_route_resource_and_time(api, wiltshire, participant, clock):
    staff, case_system = api["intake"], api["intake"].as_("case-system")
    started = clock()
    staff.get(f"/v1/participants/{participant['id']}")
    clock.advance(60)
    staff.post("/v1/engagements", json=factories.engagement_payload())
    case_system.get(f"/v1/participants/{participant['id']}")
    # Before `started`: the participant's registration by the case system.

    def routes(**query) -> list[tuple[str, str]]:
        return [(e["role"], e["route"]) for e in audit_of(staff, **query)]

    p_route = "/v1/participants/<participant_id>"
    assert routes(key_id=wiltshire.key_ids["staff"]) == [("staff", "/v1/engagements"), ("staff", p_route)]
    assert routes(role=ROLE_CASE_SYSTEM) == [("case-system", p_route), ("case-system", "/v1/participants")]
    assert routes(action="read") == [("case-system", p_route), ("staff", p_route)]
    assert (
        routes(route=p_route) == routes(resource_id=participant["id"]) == [("case-system", p_route), ("staff", p_route)]
    )
    assert routes(since=(started + dt.timedelta(seconds=1)).isoformat()) == [
        ("case-system", p_route),
        ("staff", "/v1/engagements"),
    ]
    assert routes(until=(started + dt.timedelta(seconds=1)).isoformat()) == [
        ("staff", p_route),
        ("case-system", "/v1/participants"),
    ]
    page = staff.as_("admin").get("/v1/audit", query_string={"per_page": 2, "page": 2}).json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (4, 2, 2, 2)
    assert staff.as_("admin").get("/v1/audit", query_string={"action": "erase"}).status_code == 422


@pytest.mark.parametrize("service", ["intake", "decisions", "notifier"])
@pytest.mark.parametrize("role", [ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF])
def test_the_roles_it_audits_cannot_read_it(api, service, role):
    refused = api[service].as_(role).get("/v1/audit")
    assert refused.status_code == 403


def test_an_admin_sees_only_its_own_councils_log(api, dorset):
    api["intake"].post("/v1/engagements", json=factories.engagement_payload())
    theirs = api["intake"].as_("admin", tenant=dorset)

    assert audit_of(theirs) == []
    assert len(audit_of(api["intake"])) == 1


def test_rows_cannot_be_changed_or_deleted(api, platforms):
    api["intake"].post("/v1/engagements", json=factories.engagement_payload())
    engine = platforms["intake"].engine

    for statement in (audit_log.update().values(status=200), audit_log.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    assert [row.status for row in every_row(engine)] == [201]


def test_a_personal_data_read_that_cannot_be_recorded_is_not_answered(api, platforms, participant):
    with platforms["intake"].engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_log_elsewhere"))

    answer = api["intake"].get(f"/v1/participants/{participant['id']}")

    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert participant["id"] not in answer.get_data(as_text=True)
    assert "@" not in answer.get_data(as_text=True)


def test_a_change_that_cannot_be_recorded_is_answered_503_and_logged(api, platforms, wiltshire, caplog):
    with platforms["decisions"].engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_log_elsewhere"))

    answer = api["decisions"].post("/v1/boards", json=factories.board_payload())

    assert answer.status_code == 503
    [record] = [r for r in caplog.records if r.getMessage() == "audit write failed"]
    assert (record.key_id, record.route, record.status) == (wiltshire.key_ids["staff"], "/v1/boards", 201)


def test_a_contribution_is_recorded_once_and_so_are_its_repeat_and_its_refusal(api, wiltshire):
    engagement = api["intake"].post("/v1/engagements", json=factories.engagement_payload()).json
    case_system = api["intake"].as_("case-system")
    body = factories.contribution_payload(engagement["id"])

    first = case_system.post("/v1/contributions", json=body, headers={"Idempotency-Key": "once"})
    again = case_system.post("/v1/contributions", json=body, headers={"Idempotency-Key": "once"})
    refused = case_system.post("/v1/contributions", json={**body, "type": "grumble"})

    assert (first.status_code, again.status_code, refused.status_code) == (201, 201, 422)
    entries = audit_of(api["intake"], route="/v1/contributions")
    assert [(e["status"], e["action"], e["key_id"], e["personal_data"]) for e in entries] == [
        (status, "create", wiltshire.key_ids["case-system"], True) for status in (422, 201, 201)
    ]


def test_a_contribution_that_cannot_be_recorded_is_not_kept(api, platforms):
    engagement = api["intake"].post("/v1/engagements", json=factories.engagement_payload()).json
    engine = platforms["intake"].engine
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_log_elsewhere"))

    answer = api["intake"].post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))

    assert answer.status_code == 503
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE audit_log_elsewhere RENAME TO audit_log"))
    assert api["intake"].get("/v1/contributions").json["total"] == 0
    assert [(e["method"], e["route"]) for e in audit_of(api["intake"])] == [
        ("GET", "/v1/contributions"),  # the check just above
        ("POST", "/v1/engagements"),
    ]


@pytest.mark.parametrize("typed", ["ann.example@example.org", "07700 900123", "07700900123", "Ann Example"])
def test_contact_details_typed_where_an_id_goes_are_not_recorded(api, typed):
    assert api["intake"].get(f"/v1/participants/{typed}").status_code == 404

    [entry] = audit_of(api["intake"])
    assert entry["resource_ids"] == {"participant_id": "[not an id]"}
