"""What consumers read of the `data` of the events services publish to one another.

Consumers load `data` with these schemas. They are tolerant readers: fields they do not know
are ignored, so a producer may add fields. Producers build `data` with the definitions in
shared/messaging/event_definitions.py, whose schemas extend these with every field sent.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.http.schemas import date, moment
from shared.rules.constants import OUTCOMES, RATING_CHANNELS, RATINGS, RESOURCE_STATUSES


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
    feedback_due = date(required=True)
    created_at = moment(required=True)


class ContributionEventData(_Tolerant):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    type = fields.String(required=True)
    on_behalf_of = fields.Integer(required=True, validate=validate.Range(min=1))
    channel = fields.String(required=True)
    submitted_at = moment(required=True)
    received_at = moment(required=True)
    sealed_text = fields.String(required=True)


class NotificationEventData(_Tolerant):
    notification_id = fields.String(required=True)
    contribution_id = fields.String(load_default=None)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("sent", "delivered", "failed", "withheld", "held")))
    status_at = moment(required=True)
    reason = fields.String(load_default=None)


class RatingEventData(_Tolerant):
    """outcome.rated: the participant's answer; never their comment (that stays sealed where given)."""

    contribution_id = fields.String(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    rated_at = moment(required=True)
    participant_id = fields.String(load_default=None)
    channel = fields.String(load_default=None, validate=validate.OneOf(RATING_CHANNELS))


class ParticipantEventData(_Tolerant):
    id = fields.String(required=True)
    preferred_channel = fields.String(required=True)
    language = fields.String(required=True)
    format = fields.String(required=True)
    consent_to_contact = fields.Boolean(required=True)
    sealed_contact = fields.String(required=True)


class ParticipantErasedEventData(_Tolerant):
    """participant.erased: only the id and when; nothing that says who it was."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    erased_at = moment(required=True)


class ContributionStoryEventData(_Tolerant):
    """What every decisions event about one contribution carries (the rest is context)."""

    contribution_id = fields.String(required=True)
    participant_id = fields.String(required=True)


class DecisionStoryEventData(_Tolerant):
    """contribution.linked / .unlinked, decision.amended, resource.changed: the decision as it
    stands. `contribution_id` is null on an event keyed by a decision nothing is linked to."""

    contribution_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=36))
    decision_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))


class ResourceSummaryEventData(_Tolerant):
    resource_change_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    status = fields.String(required=True, validate=validate.OneOf(RESOURCE_STATUSES))


class LinkEventData(DecisionStoryEventData):
    link_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    # The decision's resource changes as they stood when the link was made.
    resource_changes = fields.List(fields.Nested(ResourceSummaryEventData), load_default=list)


class UnlinkEventData(DecisionStoryEventData):
    link_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class ResourceChangedEventData(DecisionStoryEventData):
    resource_change_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    status = fields.String(required=True, validate=validate.OneOf(RESOURCE_STATUSES))
    changed_at = moment(required=True)


class FeedbackOverdueEventData(_Tolerant):
    contribution_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
