"""The `data` of the events services publish to one another, defined once.

Producers build these shapes; consumers load them with these schemas. Consumers are
tolerant readers: fields they do not know are ignored, so a producer may add fields.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class EngagementEventData(_Tolerant):
    id = fields.String(required=True)
    title = fields.String(required=True)
    service_area = fields.String(required=True)
    description = fields.String(required=True)
    can_change = fields.List(fields.String(), required=True)
    cannot_change = fields.List(fields.String(), required=True)
    decision_maker = fields.String(required=True)
    feedback_due = fields.Date(required=True)
    created_at = fields.AwareDateTime(required=True)


class ContributionEventData(_Tolerant):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    type = fields.String(required=True)
    on_behalf_of = fields.Integer(required=True, validate=validate.Range(min=1))
    channel = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    received_at = fields.AwareDateTime(required=True)
    sealed_text = fields.String(required=True)


class NotificationEventData(_Tolerant):
    notification_id = fields.String(required=True)
    contribution_id = fields.String(load_default=None)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("sent", "delivered", "failed", "withheld")))
    status_at = fields.AwareDateTime(required=True)
    reason = fields.String(load_default=None)


class RatingEventData(_Tolerant):
    contribution_id = fields.String(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(("yes", "partly", "no")))
    rated_at = fields.AwareDateTime(required=True)


class ParticipantEventData(_Tolerant):
    id = fields.String(required=True)
    preferred_channel = fields.String(required=True)
    language = fields.String(required=True)
    format = fields.String(required=True)
    consent_to_contact = fields.Boolean(required=True)
    sealed_contact = fields.String(required=True)


class ContributionStoryEventData(_Tolerant):
    """What every decisions event about one contribution carries (the rest is context)."""

    contribution_id = fields.String(required=True)
    participant_id = fields.String(required=True)
