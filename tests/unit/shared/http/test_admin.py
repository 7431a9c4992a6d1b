"""A council's admin manages its own keys through any service."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.intake.entrypoints.schemas import EngagementSchema
from services.intake.service_layer import services
from shared.infra import audit
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.messaging.consumer import Message
from shared.rules.constants import (
    ROLE_BOARD,
    ROLE_CASE_SYSTEM,
    ROLE_STAFF,
    ROLES,
    SOURCE_NOT_REGISTERED,
    SUBMISSIONS_TOPIC,
)
from tests.support import factories


def test_admin_lists_its_councils_keys_and_never_a_secret(api, wiltshire, dorset):
    listed = api["intake"].as_("admin").get("/v1/keys")

    assert listed.status_code == 200
    assert {key["id"] for key in listed.json["items"]} == set(wiltshire.key_ids.values())
    assert listed.json["total"] == len(ROLES)
    assert {key["role"] for key in listed.json["items"]} == set(ROLES)
    body = listed.get_data(as_text=True)
    assert not any(key.split("_")[-1] in body for key in wiltshire.keys.values())
    assert not any(key_id in body for key_id in dorset.key_ids.values())


def test_a_new_key_is_shown_once_and_works_on_every_service(api):
    admin = api["decisions"].as_("admin")

    created = admin.post("/v1/keys", json={"role": "board", "label": "Adults board clerk"})

    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/keys/{created.json['id']}"
    assert (created.json["role"], created.json["label"], created.json["revoked_at"]) == (
        "board",
        "Adults board clerk",
        None,
    )
    key = created.json["key"]
    assert key.startswith(f"oc_{created.json['id']}_")
    headers = {"Authorization": f"Bearer {key}"}
    assert api["decisions"].client.get("/v1/boards", headers=headers).status_code == 200
    assert api["intake"].client.get("/v1/engagements", headers=headers).status_code == 200
    assert key.split("_")[-1] not in admin.get("/v1/keys").get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [{"role": "superuser"}, {"label": "no role"}, {"role": "staff", "label": "x" * 201}, {"role": "staff", "x": 1}],
)
def test_a_key_request_that_is_not_valid_is_422(api, body):
    assert api["notifier"].as_("admin").post("/v1/keys", json=body).status_code == 422


def test_revoking_answers_the_key_with_when_it_was_revoked(api, wiltshire, clock):
    admin = api["intake"].as_("admin")
    staff_key_id = wiltshire.key_ids["staff"]

    revoked = admin.post(f"/v1/keys/{staff_key_id}/revoke")
    again = admin.post(f"/v1/keys/{staff_key_id}/revoke")

    assert revoked.status_code == again.status_code == 200
    assert revoked.json["id"] == staff_key_id
    assert revoked.json["revoked_at"] is not None
    assert again.json["revoked_at"] == revoked.json["revoked_at"]
    assert api["intake"].get("/v1/engagements").status_code == 401


def test_another_councils_key_is_404_exactly_like_an_unknown_one(api, dorset):
    admin = api["intake"].as_("admin")

    foreign = admin.post(f"/v1/keys/{dorset.key_ids['staff']}/revoke")
    unknown = admin.post("/v1/keys/0123456789abcdef/revoke")

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json == unknown.json
    their_staff = api["intake"].as_("staff", tenant=dorset)
    assert their_staff.get("/v1/engagements").status_code == 200


@pytest.mark.parametrize("role", [ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF])
def test_only_admin_manages_keys(api, wiltshire, role):
    client = api["intake"].as_(role)

    assert client.get("/v1/keys").status_code == 403
    assert client.post("/v1/keys", json={"role": "admin"}).status_code == 403
    assert client.post(f"/v1/keys/{wiltshire.key_ids['admin']}/revoke").status_code == 403
    assert api["intake"].as_("admin").get("/v1/keys").json["total"] == len(ROLES)  # nothing was made


# Case-system sources ------------------------------------------------------------------

CHILDRENS = "https://case-system.example.gov.uk/childrens-services"


def audited(platform, route: str) -> list[tuple[str, int]]:
    with platform.engine.connect() as connection:
        return [
            (row.action, row.status)
            for row in connection.execute(sa.select(audit.audit_log).where(audit.audit_log.c.route == route))
        ]


def submitted_from(platform, tenant: str, source: str) -> str:
    """Intake's consumer is handed a submission from `source`: 'accepted' or the dead letter's reason."""
    engagement = EngagementSchema().load(factories.engagement_payload())
    engagement_id = services.create_engagement(
        platform.uow(), tenant, engagement, now=platform.clock(), source=platform.source
    ).id
    event = factories.submission_event(tenant, factories.contribution_payload(engagement_id), source=source)
    platform.processor.process([Message(SUBMISSIONS_TOPIC, 0, 0, None, events.dumps(event))])
    with platform.engine.connect() as connection:
        reason = connection.execute(
            sa.select(dead_letters.c.reason).where(dead_letters.c.event_id == event["id"])
        ).scalar_one_or_none()
    return reason or "accepted"


def test_an_admin_registers_a_source_and_intake_then_accepts_submissions_from_it(api, platforms, wiltshire):
    admin = api["decisions"].as_("admin")
    assert submitted_from(platforms["intake"], wiltshire.slug, CHILDRENS) == SOURCE_NOT_REGISTERED

    created = admin.post("/v1/sources", json={"source": CHILDRENS})

    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/sources/{created.json['id']}"
    assert created.json["source"] == CHILDRENS
    assert admin.get(f"/v1/sources/{created.json['id']}").json == created.json
    assert CHILDRENS in [item["source"] for item in api["intake"].as_("admin").get("/v1/sources").json["items"]]
    assert submitted_from(platforms["intake"], wiltshire.slug, CHILDRENS) == "accepted"
    assert audited(platforms["decisions"], "/v1/sources") == [("create", 201)]


def test_a_removed_source_is_refused(api, platforms, wiltshire):
    admin = api["intake"].as_("admin")
    platforms["intake"].keys.SOURCE_CACHE_SECONDS = 0.0  # the consumer re-reads the registry at once
    source_id = admin.post("/v1/sources", json={"source": CHILDRENS}).json["id"]

    removed = admin.delete(f"/v1/sources/{source_id}")

    assert removed.status_code == 204
    assert admin.get(f"/v1/sources/{source_id}").status_code == 404
    assert submitted_from(platforms["intake"], wiltshire.slug, CHILDRENS) == SOURCE_NOT_REGISTERED
    assert ("delete", 204) in audited(platforms["intake"], "/v1/sources/<source_id>")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "source"),
        ({"source": ""}, "source"),
        ({"source": "urn:case system with spaces"}, "source"),
        ({"source": "https://example.org/" + "x" * 1024}, "source"),
        ({"source": "urn:ok", "extra": 1}, "extra"),
    ],
)
def test_a_source_that_is_not_a_uri_is_422_naming_the_field(api, body, field):
    refused = api["intake"].as_("admin").post("/v1/sources", json=body)

    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert field in refused.json["errors"]


def test_registering_a_source_twice_is_409(api):
    admin = api["notifier"].as_("admin")
    admin.post("/v1/sources", json={"source": CHILDRENS})

    again = admin.post("/v1/sources", json={"source": CHILDRENS})

    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    assert [item["source"] for item in admin.get("/v1/sources").json["items"]].count(CHILDRENS) == 1


def test_another_councils_source_is_404_like_an_unknown_one_and_is_kept(api, dorset):
    theirs = api["intake"].as_("admin", tenant=dorset).post("/v1/sources", json={"source": CHILDRENS}).json["id"]
    admin = api["intake"].as_("admin")

    foreign, unknown = admin.delete(f"/v1/sources/{theirs}"), admin.delete(f"/v1/sources/{uuid.uuid4()}")

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json["detail"] == unknown.json["detail"]
    assert CHILDRENS not in admin.get("/v1/sources").get_data(as_text=True)
    assert api["intake"].as_("admin", tenant=dorset).get(f"/v1/sources/{theirs}").status_code == 200


@pytest.mark.parametrize("role", [ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF])
def test_only_admin_manages_sources(api, role):
    client = api["intake"].as_(role)

    assert client.get("/v1/sources").status_code == 403
    assert client.post("/v1/sources", json={"source": CHILDRENS}).status_code == 403
    assert CHILDRENS not in api["intake"].as_("admin").get("/v1/sources").get_data(as_text=True)
