"""The notifier's HTTP API: staff views, preferences, delivery receipts, unsubscribe."""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from services.notifier.entrypoints import schemas
from services.notifier.service_layer import services
from shared import dead_letters
from shared.constants import ROLE_CASE_SYSTEM, ROLE_STAFF
from shared.errors import ApiError
from shared.links import UNSUBSCRIBE, InvalidLink
from shared.schemas import page_of
from shared.web import json_body, platform, principal, query_args, reads, requires

api = Blueprint("notifier", __name__, url_prefix="/v1")

preferences_schema = schemas.PreferencesSchema()
query_schema = schemas.NotificationQuerySchema()
notification_schema = schemas.NotificationSchema()
notify_receipt_schema = schemas.NotifyReceiptSchema()
twilio_receipt_schema = schemas.TwilioReceiptSchema()


def _config():
    return current_app.extensions["notifier"]


@api.get("/notifications")
@requires(ROLE_STAFF)
def list_notifications():
    args = query_args(query_schema)
    items, total = services.list_notifications(reads(), principal().tenant, **args)
    return page_of(notification_schema, items, total, args["page"], args["per_page"])


@api.get("/participants/<participant_id>/preferences")
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
def get_preferences(participant_id: str):
    return preferences_schema.dump(services.preferences(reads(), principal().tenant, participant_id))


@api.put("/participants/<participant_id>/preferences")
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
def put_preferences(participant_id: str):
    values = json_body(preferences_schema)
    updated = services.set_preferences(
        platform().uow(), principal().tenant, participant_id, values, now=platform().clock()
    )
    return preferences_schema.dump(updated)


@api.post("/callbacks/notify")
def notify_callback():
    """GOV.UK Notify sends the bearer token it was configured with."""
    expected = _config().settings.notify_callback_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "The callback token is missing or wrong.", headers={"WWW-Authenticate": "Bearer"})
    receipt = json_body(notify_receipt_schema)
    p = platform()
    services.notify_receipt(p.uow(), receipt["reference"], receipt["status"], now=p.clock(), source=p.source)
    return {"status": "recorded"}


def _twilio_signature(url: str, form: dict, auth_token: str) -> str:
    """Twilio signs the full URL followed by each POST parameter name and value, sorted."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


@api.post("/callbacks/twilio")
def twilio_callback():
    auth_token = _config().settings.twilio_auth_token
    form = request.form.to_dict()
    url = _config().settings.public_url.rstrip("/") + request.path
    presented = request.headers.get("X-Twilio-Signature", "")
    if not auth_token or not hmac.compare_digest(presented, _twilio_signature(url, form, auth_token)):
        raise ApiError(401, "The request signature is missing or wrong.")
    try:
        receipt = twilio_receipt_schema.load(form)
    except ValidationError as invalid:
        raise ApiError(400, "The receipt is missing fields.", errors=invalid.messages) from None
    p = platform()
    services.twilio_receipt(p.uow(), receipt["MessageSid"], receipt["MessageStatus"], now=p.clock(), source=p.source)
    return {"status": "recorded"}


UNSUBSCRIBE_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: Arial, sans-serif; font-size: 19px; max-width: 40em; margin: 2em auto;"><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _read_unsubscribe(token: str) -> tuple[str, str]:
    try:
        return _config().links.read(UNSUBSCRIBE, token)
    except InvalidLink:
        raise ApiError(404, "This link is not valid.") from None


@api.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    _read_unsubscribe(token)
    form = f'<form method="post" action="/v1/unsubscribe/{token}"><button type="submit">Stop sending me updates</button></form>'
    body = UNSUBSCRIBE_PAGE.format(
        title="Stop updates", text="You will not get any more updates about your contributions.", form=form
    )
    return (
        body,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        },
    )


@api.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """One click (RFC 8058): mail programs POST here without showing the page."""
    tenant, participant_id = _read_unsubscribe(token)
    services.unsubscribe(platform().uow(), tenant, participant_id, now=platform().clock())
    body = UNSUBSCRIBE_PAGE.format(
        title="Updates stopped", text="You will not get any more updates. Thank you for taking part.", form=""
    )
    return body, 200, {"Content-Type": "text/html; charset=utf-8"}


api.register_blueprint(dead_letters.blueprint(roles=(ROLE_STAFF,)))
