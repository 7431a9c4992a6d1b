"""The notifier's request and response shapes."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from shared.http.schemas import PageSchema, StrictBoolean, identifier, language_tag
from shared.rules.constants import CONTACT_CHANNELS, MESSAGE_FORMATS, NOTIFICATION_STATUSES


class PreferencesSchema(Schema):
    preferred_channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    language = language_tag(required=True)
    format = fields.String(required=True, validate=validate.OneOf(MESSAGE_FORMATS))
    consent_to_contact = StrictBoolean(required=True)
    unsubscribed = fields.Boolean(dump_only=True)
    reachable_channels = fields.List(
        fields.String(),
        dump_only=True,
        metadata={
            "description": "the channels we hold contact details for (and none): the ones preferred_channel may be"
        },
    )


class NotificationQuerySchema(PageSchema):
    contribution_id = identifier(load_default=None)
    participant_id = identifier(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(NOTIFICATION_STATUSES))


class AttemptSchema(Schema):
    at = fields.AwareDateTime()
    outcome = fields.String()
    detail = fields.String(allow_none=True)


class NotificationSchema(Schema):
    id = fields.String()
    contribution_id = fields.String(allow_none=True)
    participant_id = fields.String()
    kind = fields.String()
    channel = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True, metadata={"description": "Why it was withheld or failed."})
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    provider = fields.String(allow_none=True)
    language_used = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    attempt_history = fields.List(fields.Nested(AttemptSchema))


class NotifyReceiptSchema(Schema):
    """GOV.UK Notify's delivery receipt; only what we use is required."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(max=100))
    reference = fields.String(required=True, allow_none=False, validate=validate.Length(max=100))
    status = fields.String(required=True, validate=validate.Length(max=50))


class TwilioReceiptSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    MessageSid = fields.String(required=True, validate=validate.Length(max=64))
    MessageStatus = fields.String(required=True, validate=validate.Length(max=50))


class RecordedSchema(Schema):
    status = fields.String(required=True, metadata={"description": "Always `recorded`."})


SMS_BODY_MAX = 2_000  # longer than any SMS a provider delivers (Twilio: 1,600)
PHONE_NUMBER_MAX = 32


class TwilioInboundSchema(Schema):
    """An SMS sent to our Twilio number: who from and what it says (nothing else is used)."""

    class Meta:
        unknown = EXCLUDE

    From = fields.String(required=True, validate=validate.Length(max=PHONE_NUMBER_MAX))
    Body = fields.String(load_default="", validate=validate.Length(max=SMS_BODY_MAX))


class NotifyInboundSchema(Schema):
    """GOV.UK Notify's received-text-message callback (`message`; `content`, as its API
    names the same text, is taken too)."""

    class Meta:
        unknown = EXCLUDE

    source_number = fields.String(required=True, validate=validate.Length(max=PHONE_NUMBER_MAX))
    message = fields.String(load_default="", validate=validate.Length(max=SMS_BODY_MAX))

    @pre_load
    def content_is_the_message(self, data, **kwargs):
        if isinstance(data, dict) and "message" not in data and "content" in data:
            return {**data, "message": data["content"]}
        return data


class LetterBudgetSchema(Schema):
    letters_per_month = fields.Integer(required=True, metadata={"description": "The tenant's budget."})
    sent_this_month = fields.Integer(required=True, metadata={"description": "Letters sent this month (UK time)."})
    waiting = fields.Integer(
        required=True, metadata={"description": "Letters held until next month, as the budget is spent."}
    )
