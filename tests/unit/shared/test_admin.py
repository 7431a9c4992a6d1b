"""A council's admin manages its own keys through any service."""

from __future__ import annotations

import pytest

from shared.constants import ROLE_BOARD, ROLE_CASE_SYSTEM, ROLE_STAFF, ROLES


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
