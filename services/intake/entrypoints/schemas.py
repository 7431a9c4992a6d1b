"""Intake's request and response shapes, used by the HTTP API and the Kafka consumer."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared.http.contact_schemas import ContactDetailsSchema
from shared.http.schemas import PageSchema, StrictBoolean, date, identifier, language_tag, moment, text
from shared.rules.constants import (
    CONTACT_CHANNELS,
    CONTRIBUTION_CHANNELS,
    CONTRIBUTION_STATUSES,
    CONTRIBUTION_TEXT_MAX,
    CONTRIBUTION_TYPES,
    MESSAGE_FORMATS,
)

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
    "welsh_speaker",  # asked on the public form (services/intake/domain/public_form.py)
)


class EngagementSchema(Schema):
    id = fields.String(dump_only=True)
    title = text(200, required=True)
    service_area = text(100, required=True)
    description = text(5000, required=True)
    can_change = fields.List(text(500), required=True, validate=validate.Length(max=50))
    cannot_change = fields.List(text(500), required=True, validate=validate.Length(max=50))
    decision_maker = text(200, required=True)
    feedback_due = date(required=True)
    languages = fields.List(
        language_tag(),
        load_default=lambda: ["en"],
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The languages people may take part in (default English only)."},
    )
    created_at = fields.AwareDateTime(dump_only=True)
    closed_at = fields.AwareDateTime(dump_only=True, allow_none=True, metadata={"description": "Set once closed."})


class ParticipantSchema(ContactDetailsSchema):
    """A person and how to reach them; `phone`, `address_lines` and `postcode` are read and
    checked against the chosen channel by ContactDetailsSchema (shared/http/contact_schemas.py)."""

    id = fields.String(dump_only=True)
    external_ref = text(100, load_default=None)
    name = text(200, load_default=None, load_only=True)
    email = fields.Email(load_default=None, load_only=True, validate=validate.Length(max=254))
    preferred_channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    language = language_tag(load_default="en")
    format = fields.String(load_default="standard", validate=validate.OneOf(MESSAGE_FORMATS))
    consent_to_contact = StrictBoolean(required=True)
    equality = fields.Dict(
        keys=fields.String(validate=validate.OneOf(EQUALITY_QUESTIONS)),
        values=text(100),
        load_default=None,
        load_only=True,
    )
    created_at = fields.AwareDateTime(dump_only=True)
    erased_at = fields.AwareDateTime(dump_only=True, allow_none=True)  # set once erased: no contact details kept


class ParticipantWithContactSchema(ParticipantSchema):
    """What staff see: the preferences and the contact details."""

    name = fields.String(attribute="contact.name", dump_only=True, allow_none=True)
    email = fields.String(attribute="contact.email", dump_only=True, allow_none=True)
    phone = fields.String(attribute="contact.phone", dump_only=True, allow_none=True)
    address_lines = fields.List(fields.String(), attribute="contact.address_lines", dump_only=True, allow_none=True)
    postcode = fields.String(attribute="contact.postcode", dump_only=True, allow_none=True)


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
    submitted_at = moment(load_default=None)
    received_at = fields.AwareDateTime(dump_only=True)

    @validates_schema
    def _one_participant(self, data: dict, **_kwargs) -> None:
        given = [name for name in ("participant_id", "participant") if data.get(name)]
        if len(given) != 1:
            raise ValidationError("Give either participant_id or participant, not both or neither.", "participant_id")


class ContributionQuerySchema(PageSchema):
    engagement_id = identifier(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(CONTRIBUTION_STATUSES))


class EqualityReportQuerySchema(Schema):
    engagement_id = identifier(load_default=None)


class EqualityReportSchema(Schema):
    """Counts only; any number under five reads "fewer than 5"."""

    engagement_id = fields.String(allow_none=True)
    respondents = fields.Raw(required=True, metadata={"description": 'How many answered: a number, or "fewer than 5".'})
    questions = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Raw()),
        required=True,
        metadata={"description": 'Per question, the count per answer; rarer answers as "other answers".'},
    )


class DashboardQuerySchema(Schema):
    """The dashboard's filters; a field left empty in the page's form means "all"."""

    engagement_id = identifier(load_default=None)
    service_area = text(100, load_default=None)
    period_from = date(data_key="from", load_default=None, metadata={"description": "Received on or after."})
    period_to = date(data_key="to", load_default=None, metadata={"description": "Received on or before."})

    @pre_load
    def _empty_is_all(self, data, **_kwargs):
        return {k: v for k, v in data.items() if v != ""}

    @validates_schema
    def _period_in_order(self, data: dict, **_kwargs) -> None:
        if data["period_from"] and data["period_to"] and data["period_from"] > data["period_to"]:
            raise ValidationError("Must be the same as or after the start date.", "to")


_RATE = 'A share from 0 to 1; null when there is nothing to count; "withheld" when it would reveal fewer than 5 people.'


class DashboardGroupSchema(Schema):
    answer = fields.String(required=True, metadata={"description": 'The answer given, or "not answered".'})
    people = fields.Raw(required=True, metadata={"description": 'A number; or, hidden, "fewer than 5" or "5 or more".'})
    contributions = fields.Raw(
        required=True, metadata={"description": 'A number; or, hidden, "fewer than 5" or "5 or more".'}
    )
    participation_rate = fields.Raw(required=True, metadata={"description": "Share of all contributions. " + _RATE})
    decision_rate = fields.Raw(required=True, metadata={"description": "Share with a decision. " + _RATE})
    difference_rate = fields.Raw(
        required=True, metadata={"description": "Of those rated, share saying yes or partly. " + _RATE}
    )


class DashboardEqualitySchema(Schema):
    """Whose voices lead to change: small numbers hidden, and no hidden number derivable from the others."""

    overall = fields.Dict(required=True, metadata={"description": "people, contributions and the three rates."})
    questions = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Nested(DashboardGroupSchema)),
        required=True,
        metadata={"description": "Per equality-monitoring question answered in scope, its groups."},
    )


class DashboardSchema(Schema):
    """The staff dashboard's numbers; the same as the /dashboard page shows."""

    filters = fields.Dict(required=True)
    coverage = fields.Dict(
        required=True,
        metadata={
            "description": "Counts and shares of contributions with a decision, with feedback delivered (an "
            "update telling the outcome sent or delivered), and rated; median days from receipt to each."
        },
    )
    overdue = fields.Dict(
        required=True,
        metadata={"description": "`count`, and up to 200 `contributions` past their feedback date with no decision."},
    )
    outcomes_by_type = fields.Dict(
        required=True,
        metadata={"description": 'Contribution type -> outcome of its latest decision ("none yet") -> count.'},
    )
    equality = fields.Nested(DashboardEqualitySchema, required=True)
    letters = fields.Dict(
        required=True,
        metadata={"description": "`held`: letters waiting for next month, as this month's letter budget is spent."},
    )
