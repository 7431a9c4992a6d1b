"""The notifier's request and response shapes."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.constants import CONTACT_CHANNELS, LANGUAGE_TAG_PATTERN, MESSAGE_FORMATS, NOTIFICATION_STATUSES
from shared.schemas import PageSchema


class PreferencesSchema(Schema):
    preferred_channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    language = fields.String(
        required=True, validate=validate.Regexp(LANGUAGE_TAG_PATTERN, error="Not a language tag such as en or cy.")
    )
    format = fields.String(required=True, validate=validate.OneOf(MESSAGE_FORMATS))
    consent_to_contact = fields.Boolean(required=True)
    unsubscribed = fields.Boolean(dump_only=True)


class NotificationQuerySchema(PageSchema):
    contribution_id = fields.String(load_default=None)
    participant_id = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(NOTIFICATION_STATUSES))


class AttemptSchema(Schema):
    at = fields.AwareDateTime()
    outcome = fields.String()
    detail = fields.String()


class NotificationSchema(Schema):
    id = fields.String()
    contribution_id = fields.String()
    participant_id = fields.String()
    kind = fields.String()
    channel = fields.String()
    status = fields.String()
    reason = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    provider = fields.String()
    language_used = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    attempt_history = fields.List(fields.Nested(AttemptSchema))


class NotifyReceiptSchema(Schema):
    """GOV.UK Notify's delivery receipt; only what we use is required."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    reference = fields.String(required=True, allow_none=False)
    status = fields.String(required=True)


class TwilioReceiptSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    MessageSid = fields.String(required=True)
    MessageStatus = fields.String(required=True)
