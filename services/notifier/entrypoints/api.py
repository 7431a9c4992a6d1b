"""The notifier's HTTP API: staff views, preferences, delivery receipts, SMS replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from services.notifier.domain.model import phone_lookup_key
from services.notifier.entrypoints import schemas
from services.notifier.service_layer import letters, services
from shared.http.errors import ApiError
from shared.http.openapi import documented
from shared.http.schemas import page_of, page_response
from shared.http.web import json_body, platform, principal, query_args, reads, requires
from shared.infra.audit import handles_personal_data
from shared.messaging import dead_letters
from shared.rules.constants import ROLE_CASE_SYSTEM, ROLE_STAFF

api = Blueprint("notifier", __name__, url_prefix="/v1")

preferences_schema = schemas.PreferencesSchema()
query_schema = schemas.NotificationQuerySchema()
notification_schema = schemas.NotificationSchema()
notify_receipt_schema = schemas.NotifyReceiptSchema()
twilio_receipt_schema = schemas.TwilioReceiptSchema()
twilio_inbound_schema = schemas.TwilioInboundSchema()
notify_inbound_schema = schemas.NotifyInboundSchema()
letter_budget_schema = schemas.LetterBudgetSchema()
log = logging.getLogger(__name__)


def _config():
    return current_app.extensions["notifier"]


@api.get("/notifications")
@documented(query=schemas.NotificationQuerySchema, responses={200: page_response(schemas.NotificationSchema)})
@requires(ROLE_STAFF)
@handles_personal_data
def list_notifications():
    args = query_args(query_schema)
    items, total = services.list_notifications(reads(), principal().tenant, **args)
    return page_of(notification_schema, items, total, args["page"], args["per_page"])


@api.get("/participants/<participant_id>/preferences")
@documented(responses={200: schemas.PreferencesSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
@handles_personal_data
def get_preferences(participant_id: str):
    return preferences_schema.dump(services.preferences(reads(), principal().tenant, participant_id))


@api.put("/participants/<participant_id>/preferences")
@documented(body=schemas.PreferencesSchema, responses={200: schemas.PreferencesSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
@handles_personal_data
def put_preferences(participant_id: str):
    values = json_body(preferences_schema)
    updated = services.set_preferences(
        platform().uow(), principal().tenant, participant_id, values, now=platform().clock()
    )
    return preferences_schema.dump(updated)


@api.get("/letters/budget")
@documented(responses={200: schemas.LetterBudgetSchema})
@requires(ROLE_STAFF)
def letter_budget():
    """This month's letters against the tenant's budget, and how many wait for next month."""
    p = platform()
    return letter_budget_schema.dump(
        letters.budget_report(p.uow(read_only=True), _config().sender.letter_budget, principal().tenant, p.clock())
    )


def _check_notify_token() -> None:
    """GOV.UK Notify sends the bearer token it was configured with."""
    expected = _config().settings.notify_callback_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "The callback token is missing or wrong.", headers={"WWW-Authenticate": "Bearer"})


@api.post("/callbacks/notify")
@documented(body=schemas.NotifyReceiptSchema, responses={200: schemas.RecordedSchema}, errors=(401,))
def notify_callback():
    _check_notify_token()
    receipt = json_body(notify_receipt_schema)
    p = platform()
    services.notify_receipt(p.uow(), receipt["reference"], receipt["status"], now=p.clock(), source=p.source)
    return {"status": "recorded"}


def _twilio_signature(url: str, form: dict, auth_token: str) -> str:
    """Twilio signs the full URL followed by each POST parameter name and value, sorted."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _signed_twilio_form() -> dict:
    """The posted form, once its X-Twilio-Signature is shown to be Twilio's; 401 otherwise."""
    auth_token = _config().settings.twilio_auth_token
    form = request.form.to_dict()
    url = _config().settings.notifier_public_url.rstrip("/") + request.path
    presented = request.headers.get("X-Twilio-Signature", "")
    if not auth_token or not hmac.compare_digest(presented, _twilio_signature(url, form, auth_token)):
        raise ApiError(401, "The request signature is missing or wrong.")
    return form


@api.post("/callbacks/twilio")
@documented(form=schemas.TwilioReceiptSchema, responses={200: schemas.RecordedSchema}, errors=(400, 401))
def twilio_callback():
    form = _signed_twilio_form()
    try:
        receipt = twilio_receipt_schema.load(form)
    except ValidationError as invalid:
        raise ApiError(400, "The receipt is missing fields.", errors=invalid.messages) from None
    p = platform()
    services.twilio_receipt(p.uow(), receipt["MessageSid"], receipt["MessageStatus"], now=p.clock(), source=p.source)
    return {"status": "recorded"}


def _sms_reply(number: str, body: str) -> None:
    """Record a reply as a rating if it is one; otherwise only count it (never its number or text)."""
    p = platform()
    lookup = phone_lookup_key(p.settings.link_signing_secret, number)
    if not services.record_sms_reply(p.uow(), lookup, body, now=p.clock(), source=p.source):
        log.info("SMS reply ignored: not 1, 2 or 3, or no decision update went to that number")


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@api.post("/callbacks/twilio/inbound")
@documented(
    form=schemas.TwilioInboundSchema,
    responses={200: {"text/xml": {"type": "string", "description": "Empty TwiML: no reply is sent."}}},
    errors=(400, 401),
)
def twilio_inbound():
    """An SMS sent to our Twilio number: 1, 2 or 3 answers "Did this make a difference?"."""
    try:
        message = twilio_inbound_schema.load(_signed_twilio_form())
    except ValidationError as invalid:
        raise ApiError(400, "The message is missing fields.", errors=invalid.messages) from None
    _sms_reply(message["From"], message["Body"])
    return EMPTY_TWIML, 200, {"Content-Type": "text/xml; charset=utf-8"}


@api.post("/callbacks/notify/inbound")
@documented(body=schemas.NotifyInboundSchema, responses={200: schemas.RecordedSchema}, errors=(401,))
def notify_inbound():
    """GOV.UK Notify's received-text-message callback, with the same bearer token as receipts."""
    _check_notify_token()
    message = json_body(notify_inbound_schema)
    _sms_reply(message["source_number"], message["message"])
    return {"status": "recorded"}


api.register_blueprint(dead_letters.blueprint(roles=(ROLE_STAFF,)))
