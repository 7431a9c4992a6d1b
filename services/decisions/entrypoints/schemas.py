"""Decisions' request and response shapes."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared.http.schemas import DecimalString, PageSchema, date, identifier, not_blank, text
from shared.rules.constants import (
    CONTRIBUTION_STATUSES,
    CURRENCIES,
    INFLUENCE_MAX,
    LINKS_PER_REQUEST_MAX,
    OUTCOMES,
    RATING_CHANNELS,
    RATING_COMMENT_MAX,
    RATINGS,
    RESOURCE_KINDS,
    RESOURCE_STATUSES,
    SCOPE_LIMIT_KINDS,
)

MAX_AMOUNT = Decimal("999999999999.99")  # what a Numeric(14, 2) column holds exactly


def at_most_pence(value: Decimal) -> None:
    if value.as_tuple().exponent < -2:
        raise ValidationError("Give at most two decimal places.")


class BoardSchema(Schema):
    id = fields.String(dump_only=True)
    name = text(200, required=True)
    remit = text(5000, required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class LinkSchema(Schema):
    id = fields.String(dump_only=True)
    contribution_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    influence = text(INFLUENCE_MAX, required=True)
    state = fields.String(dump_only=True)
    linked_at = fields.AwareDateTime(dump_only=True)
    confirmed_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class LinksSchema(Schema):
    links = fields.List(
        fields.Nested(LinkSchema), required=True, validate=validate.Length(min=1, max=LINKS_PER_REQUEST_MAX)
    )


class UnlinkSchema(Schema):
    reason = text(2000, required=True)


class ResourceChangeSchema(Schema):
    id = fields.String(dump_only=True)
    decision_id = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(RESOURCE_KINDS))
    description = text(2000, required=True)
    amount = DecimalString(
        load_default=None,
        metadata={"pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "example": "48000.00"},
        validate=[
            validate.Range(min=0, error="Must not be negative."),
            validate.Range(max=MAX_AMOUNT, error="Must be at most 999,999,999,999.99."),
            at_most_pence,
        ],
    )
    currency = fields.String(
        load_default=None, validate=validate.OneOf(sorted(CURRENCIES), error="Not a known ISO 4217 currency code.")
    )
    effective_from = date(load_default=None)
    progress_percent = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0, max=100))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class ResourceChangeHistorySchema(Schema):
    status = fields.String()
    note = fields.String(allow_none=True)
    at = fields.AwareDateTime()
    progress_percent = fields.Integer(allow_none=True)


class ResourceChangeWithHistorySchema(ResourceChangeSchema):
    history = fields.List(fields.Nested(ResourceChangeHistorySchema), dump_only=True)


class ResourceChangeMoveSchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(RESOURCE_STATUSES))
    note = fields.String(load_default=None, validate=[validate.Length(min=1, max=2000), not_blank])
    progress_percent = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0, max=100))

    @validates_schema
    def _something(self, data: dict, **_kwargs) -> None:
        if data.get("status") is None and data.get("progress_percent") is None:
            raise ValidationError("Give a status, a progress_percent, or both.", "status")


class DecisionSchema(Schema):
    id = fields.String(dump_only=True)
    board_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    engagement_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36))
    title = text(200, required=True)
    description = text(10_000, required=True)
    decided_on = date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    rationale = fields.String(load_default=None, validate=validate.Length(max=10_000))
    scope_limit_kind = fields.String(load_default=None, validate=validate.OneOf(SCOPE_LIMIT_KINDS))
    scope_limit = fields.String(load_default=None, validate=validate.Length(max=500))
    revisit_on = date(load_default=None)
    version = fields.Integer(dump_only=True)
    links = fields.List(
        fields.Nested(LinkSchema),
        load_default=list,
        validate=validate.Length(max=LINKS_PER_REQUEST_MAX),
        load_only=True,
    )
    resource_changes = fields.List(
        fields.Nested(ResourceChangeSchema), load_default=list, validate=validate.Length(max=100), load_only=True
    )
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class DecisionAmendmentSchema(Schema):
    """Any of the decision's fields, and why it is being amended."""

    reason = text(2000, required=True)
    title = text(200)
    description = text(10_000)
    decided_on = date()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    rationale = fields.String(validate=validate.Length(max=10_000), allow_none=True)
    scope_limit_kind = fields.String(validate=validate.OneOf(SCOPE_LIMIT_KINDS), allow_none=True)
    scope_limit = fields.String(validate=validate.Length(max=500), allow_none=True)
    revisit_on = date(allow_none=True)


class DecisionQuerySchema(PageSchema):
    board_id = identifier(load_default=None)
    engagement_id = identifier(load_default=None)


class VersionSchema(Schema):
    version = fields.Integer()
    snapshot = fields.Dict()
    reason = fields.String(allow_none=True, metadata={"description": "Why it was amended; null for the first version."})
    recorded_at = fields.AwareDateTime()


# Response shapes: what the views answer beyond the request schemas, for the OpenAPI document.


class UnlinkedLinkSchema(LinkSchema):
    unlinked_at = fields.AwareDateTime(dump_only=True)
    unlink_reason = fields.String(dump_only=True)


class DecisionViewSchema(DecisionSchema):
    """One decision with its links, resource changes and (when read) every version."""

    links = fields.List(fields.Nested(LinkSchema), dump_only=True)
    resource_changes = fields.List(fields.Nested(ResourceChangeWithHistorySchema), dump_only=True)
    versions = fields.List(fields.Nested(VersionSchema), dump_only=True)


class ChainContributionSchema(Schema):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    engagement_title = fields.String(allow_none=True)
    feedback_due = fields.Date(allow_none=True)
    type = fields.String(required=True)
    text = fields.String(required=True)
    participant_erased = fields.Boolean(
        required=True, metadata={"description": "The participant asked to be forgotten; the text is kept."}
    )
    on_behalf_of = fields.Integer(required=True)
    channel = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)


class ChainDecisionSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    outcome = fields.String(required=True)
    rationale = fields.String(allow_none=True)
    decided_on = fields.Date(required=True)
    scope_limit = fields.String(allow_none=True)
    revisit_on = fields.Date(allow_none=True)
    version = fields.Integer(required=True)
    influence = fields.String(required=True)
    link_state = fields.String(required=True)
    linked_at = fields.AwareDateTime(required=True)
    unlinked_at = fields.AwareDateTime(allow_none=True)
    unlink_reason = fields.String(allow_none=True)


class ChainMessageSchema(Schema):
    notification_id = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(allow_none=True)
    status = fields.String(required=True)
    status_at = fields.AwareDateTime(required=True)
    reason = fields.String(allow_none=True)


class ChainRatingSchema(Schema):
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    rated_at = fields.AwareDateTime(required=True)
    channel = fields.String(
        allow_none=True, validate=validate.OneOf(RATING_CHANNELS), metadata={"description": "Where it was given."}
    )
    comment = fields.String(
        allow_none=True, metadata={"description": "What the participant wrote beside their answer (web only)."}
    )


class OutcomeChainSchema(Schema):
    contribution = fields.Nested(ChainContributionSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(CONTRIBUTION_STATUSES))
    decisions = fields.List(fields.Nested(ChainDecisionSchema), required=True)
    resource_changes = fields.List(fields.Dict(), required=True)
    messages = fields.List(fields.Nested(ChainMessageSchema), required=True)
    rating = fields.Nested(ChainRatingSchema, allow_none=True, required=True)
    steps = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "Every step in time order: each has `at` and `step`, and what that step was about."},
    )


class YouSaidWeDidSchema(Schema):
    engagement = fields.Dict(required=True)
    you_said = fields.Dict(
        required=True, metadata={"description": "contributions, people_represented, and counts by type."}
    )
    we_did = fields.List(
        fields.Dict(), required=True, metadata={"description": "One entry per decision, with its resource changes."}
    )
    closing_the_loop = fields.Dict(
        required=True,
        metadata={"description": "Shares decided and told (null with no contributions), and the ratings given."},
    )


class OverdueContributionSchema(Schema):
    contribution_id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    engagement_title = fields.String(allow_none=True)
    feedback_due = fields.Date(required=True)
    days_overdue = fields.Integer(required=True)
    participant_told = fields.Boolean(required=True)


class RatingFormSchema(Schema):
    """The status page's "Did this make a difference?" form (form fields, not JSON)."""

    class Meta:
        unknown = EXCLUDE

    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(load_default=None, validate=validate.Length(max=RATING_COMMENT_MAX))

    @pre_load
    def blank_comment_is_none(self, form, **kwargs):
        values = dict(form)
        comment = (values.get("comment") or "").strip()
        if comment:
            values["comment"] = comment
        else:
            values.pop("comment", None)
        return values
