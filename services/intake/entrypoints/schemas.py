"""Intake's request and response shapes, used by the HTTP API and the Kafka consumer."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.constants import (
    CONTACT_CHANNELS,
    CONTRIBUTION_CHANNELS,
    CONTRIBUTION_STATUSES,
    CONTRIBUTION_TEXT_MAX,
    CONTRIBUTION_TYPES,
    LANGUAGE_TAG_PATTERN,
    MESSAGE_FORMATS,
)
from shared.schemas import PageSchema, text

# The protected characteristics of the Equality Act 2010, plus caring responsibilities.
EQUALITY_QUESTIONS = (
    "age_band",
    "disability",
    "ethnicity",
    "sex",
    "gender_identity",
    "sexual_orientation",
    "religion_or_belief",
    "marriage_or_civil_partnership",
    "pregnancy_or_maternity",
    "carer",
)


class EngagementSchema(Schema):
    id = fields.String(dump_only=True)
    title = text(200, required=True)
    service_area = text(100, required=True)
    description = text(5000, required=True)
    can_change = fields.List(text(500), required=True, validate=validate.Length(max=50))
    cannot_change = fields.List(text(500), required=True, validate=validate.Length(max=50))
    decision_maker = text(200, required=True)
    feedback_due = fields.Date(required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class ParticipantSchema(Schema):
    id = fields.String(dump_only=True)
    external_ref = text(100, load_default=None)
    name = text(200, load_default=None, load_only=True)
    email = fields.Email(load_default=None, load_only=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Regexp(r"^\+?[0-9][0-9 ()-]{6,18}[0-9]$", error="Not a valid phone number."),
    )
    preferred_channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    language = fields.String(
        load_default="en", validate=validate.Regexp(LANGUAGE_TAG_PATTERN, error="Not a language tag such as en or cy.")
    )
    format = fields.String(load_default="standard", validate=validate.OneOf(MESSAGE_FORMATS))
    consent_to_contact = fields.Boolean(required=True)
    equality = fields.Dict(
        keys=fields.String(validate=validate.OneOf(EQUALITY_QUESTIONS)),
        values=text(100),
        load_default=None,
        load_only=True,
    )
    created_at = fields.AwareDateTime(dump_only=True)


class ParticipantWithContactSchema(ParticipantSchema):
    """What staff see: the preferences and the contact details."""

    name = fields.String(attribute="contact.name", dump_only=True)
    email = fields.String(attribute="contact.email", dump_only=True)
    phone = fields.String(attribute="contact.phone", dump_only=True)


class ContributionSchema(Schema):
    id = fields.String(dump_only=True)
    reference = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    engagement_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    participant_id = fields.String(validate=validate.Length(min=1, max=36))
    participant = fields.Nested(ParticipantSchema, load_only=True)
    type = fields.String(required=True, validate=validate.OneOf(CONTRIBUTION_TYPES))
    text = text(CONTRIBUTION_TEXT_MAX, required=True)
    on_behalf_of = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    channel = fields.String(required=True, validate=validate.OneOf(CONTRIBUTION_CHANNELS))
    submitted_at = fields.AwareDateTime(load_default=None)
    received_at = fields.AwareDateTime(dump_only=True)

    @validates_schema
    def _one_participant(self, data: dict, **_kwargs) -> None:
        given = [name for name in ("participant_id", "participant") if data.get(name)]
        if len(given) != 1:
            raise ValidationError("Give either participant_id or participant, not both or neither.", "participant_id")


class ContributionQuerySchema(PageSchema):
    engagement_id = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(CONTRIBUTION_STATUSES))


class EqualityReportQuerySchema(Schema):
    engagement_id = fields.String(load_default=None)
