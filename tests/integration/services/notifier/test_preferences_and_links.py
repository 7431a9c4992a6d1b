"""Preferences, one-click unsubscribe and Twilio receipts, over HTTP against the real app."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac

import sqlalchemy as sa

from services.notifier.adapters.tables import notifications
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.web import create_app
from shared.infra.links import UNSUBSCRIBE
from shared.infra.settings import Settings
from tests.integration.services.notifier.test_messages import feed, send_all
from tests.support import factories


def submit(intake_api, engagement, **person) -> dict:
    body = factories.contribution_payload(engagement["id"], participant=factories.participant_payload(**person))
    return intake_api.as_("case-system").post("/v1/contributions", json=body).json


def test_staff_read_and_change_preferences_and_another_council_cannot(
    intake, intake_api, engagement, notifier, notifier_api, other_council
):
    created = submit(intake_api, engagement)
    feed(intake, notifier)
    path = f"/v1/participants/{created['participant_id']}/preferences"

    assert notifier_api.get(path).json == {
        "preferred_channel": "email",
        "language": "en",
        "format": "standard",
        "consent_to_contact": True,
        "unsubscribed": False,
        "reachable_channels": ["email", "sms", "none"],
    }
    changed = notifier_api.client.put(
        path,
        json={"preferred_channel": "email", "language": "cy", "format": "large_print", "consent_to_contact": True},
        headers={"Authorization": f"Bearer {notifier_api.tenant.keys['staff']}"},
    )
    assert changed.status_code == 200 and changed.json["language"] == "cy"
    assert notifier_api.as_("staff", tenant=other_council).get(path).status_code == 404
    assert notifier_api.as_("board").get(path).status_code == 403
    bad = notifier_api.client.put(
        path,
        json={"preferred_channel": "pigeon"},
        headers={"Authorization": f"Bearer {notifier_api.tenant.keys['staff']}"},
    )
    assert bad.status_code == 422 and "preferred_channel" in bad.json["errors"]


def test_one_click_unsubscribe_stops_further_messages_and_says_why(
    intake, intake_api, engagement, notifier, notifier_api, smtp
):
    created = submit(intake_api, engagement)
    feed(intake, notifier)
    send_all(notifier)
    [first] = smtp.messages()
    unsubscribe_url = first["List-Unsubscribe"].strip("<>")
    path = unsubscribe_url[unsubscribe_url.index("/v1/unsubscribe/") :]
    client = create_app(notifier).test_client()

    assert client.get(path).status_code == 200
    assert client.post(path[:-3] + "xyz").status_code == 404  # tampered: refused, without detail
    assert client.post(path).status_code == 200
    links = notifier.extensions["notifier"].links
    assert links.read(UNSUBSCRIBE, path.rsplit("/", 1)[1]) == (
        created["participant_id"] and notifier_api.tenant.slug,
        created["participant_id"],
    )

    submit_again = factories.contribution_payload(engagement["id"], participant_id=created["participant_id"])
    del submit_again["participant"]
    intake_api.as_("case-system").post("/v1/contributions", json=submit_again)
    feed(intake, notifier)
    send_all(notifier)
    assert len(smtp.messages()) == 1
    with notifier.engine.connect() as connection:
        reasons = list(
            connection.execute(sa.select(notifications.c.reason).where(notifications.c.status == "withheld")).scalars()
        )
    assert reasons == ["participant unsubscribed"]


def twilio_signature(url: str, form: dict, token: str) -> str:
    payload = url + "".join(f"{k}{form[k]}" for k in sorted(form))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def test_twilio_receipts_need_a_valid_signature(settings, intake, intake_api, engagement, notifier):
    token = "twilio-auth-token-for-tests"
    notifier = bootstrap(dataclasses.replace(Settings.from_env(env_file=None), twilio_auth_token=token))
    parts = notifier.extensions["notifier"]
    submit(intake_api, engagement)
    feed(intake, notifier)
    with notifier.engine.begin() as connection:
        connection.execute(notifications.update().values(status="sent", provider="twilio", provider_reference="SM123"))
    client = create_app(notifier).test_client()
    form = {"MessageSid": "SM123", "MessageStatus": "delivered"}
    url = parts.settings.notifier_public_url.rstrip("/") + "/v1/callbacks/twilio"

    assert client.post("/v1/callbacks/twilio", data=form, headers={"X-Twilio-Signature": "forged"}).status_code == 401
    signed = {"X-Twilio-Signature": twilio_signature(url, form, token)}
    assert client.post("/v1/callbacks/twilio", data=form, headers=signed).status_code == 200
    with notifier.engine.connect() as connection:
        assert connection.execute(sa.select(notifications.c.status)).scalar_one() == "delivered"
    unknown = {"MessageSid": "SM999", "MessageStatus": "delivered"}
    assert (
        client.post(
            "/v1/callbacks/twilio", data=unknown, headers={"X-Twilio-Signature": twilio_signature(url, unknown, token)}
        ).status_code
        == 404
    )
