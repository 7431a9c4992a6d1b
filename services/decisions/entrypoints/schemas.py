"""Decisions' request and response shapes."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.constants import (
    CURRENCIES,
    INFLUENCE_MAX,
    LINKS_PER_REQUEST_MAX,
    OUTCOMES,
    RESOURCE_KINDS,
    RESOURCE_STATUSES,
    SCOPE_LIMIT_KINDS,
)
from shared.schemas import PageSchema, not_blank, text

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
    confirmed_at = fields.AwareDateTime(dump_only=True)


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
    amount = fields.Decimal(
        load_default=None,
        as_string=True,
        validate=[
            validate.Range(min=0, error="Must not be negative."),
            validate.Range(max=MAX_AMOUNT, error="Must be at most 999,999,999,999.99."),
            at_most_pence,
        ],
    )
    currency = fields.String(
        load_default=None, validate=validate.OneOf(sorted(CURRENCIES), error="Not a known ISO 4217 currency code.")
    )
    effective_from = fields.Date(load_default=None)
    progress_percent = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0, max=100))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class ResourceChangeHistorySchema(Schema):
    status = fields.String()
    note = fields.String()
    at = fields.AwareDateTime()
    progress_percent = fields.Integer()


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
    decided_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    rationale = fields.String(load_default=None, validate=validate.Length(max=10_000))
    scope_limit_kind = fields.String(load_default=None, validate=validate.OneOf(SCOPE_LIMIT_KINDS))
    scope_limit = fields.String(load_default=None, validate=validate.Length(max=500))
    revisit_on = fields.Date(load_default=None)
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
    decided_on = fields.Date()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    rationale = fields.String(validate=validate.Length(max=10_000), allow_none=True)
    scope_limit_kind = fields.String(validate=validate.OneOf(SCOPE_LIMIT_KINDS), allow_none=True)
    scope_limit = fields.String(validate=validate.Length(max=500), allow_none=True)
    revisit_on = fields.Date(allow_none=True)


class DecisionQuerySchema(PageSchema):
    board_id = fields.String(load_default=None)
    engagement_id = fields.String(load_default=None)


class VersionSchema(Schema):
    version = fields.Integer()
    snapshot = fields.Dict()
    reason = fields.String()
    recorded_at = fields.AwareDateTime()
