"""The public "have your say" form, as a browser posts it (form fields, not JSON)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from services.intake.domain.public_form import EQUALITY_QUESTIONS
from services.intake.entrypoints.schemas import ParticipantSchema
from shared.constants import CONTACT_CHANNELS, CONTRIBUTION_TEXT_MAX, MESSAGE_FORMATS
from shared.pages import LANGUAGES
from shared.schemas import text as text_field

EQUALITY_PREFIX = "equality_"
HONEYPOT = "website"  # hidden from people; a bot that fills every field fills it
# What each channel needs from the person, by form field. A channel added to
# CONTACT_CHANNELS without an entry here is offered with nothing more to fill in.
CHANNEL_FIELDS = {"email": ("email",), "sms": ("phone",)}
# How each of those fields is typed in (any other: plain text); its label is `form.<field>`.
FIELD_INPUTS = {"email": {"type": "email", "autocomplete": "email"}, "phone": {"type": "tel", "autocomplete": "tel"}}
PLAIN_INPUT = {"type": "text", "autocomplete": "on"}
_participant = ParticipantSchema._declared_fields


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the submit button and anything a browser adds

    text = text_field(CONTRIBUTION_TEXT_MAX, required=True)
    name = text_field(200, load_default=None)
    channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    email = _participant["email"]
    phone = _participant["phone"]
    consent = fields.Boolean(truthy={"yes"}, falsy=set(), load_default=False)
    format = fields.String(load_default="standard", validate=validate.OneOf(MESSAGE_FORMATS))
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    website = fields.String(load_default="", validate=validate.Length(max=1000))

    @pre_load
    def _empty_is_not_given(self, data, **_kwargs):
        return {k: v.strip() if k != "text" else v for k, v in data.items() if v.strip() != ""}

    @validates_schema
    def _reachable(self, data: dict, **_kwargs) -> None:
        """Whoever chose a way to hear back gives what it needs, and says we may use it."""
        channel = data.get("channel")
        if channel in (None, "none"):
            return
        problems = {name: ["Required for this channel."] for name in CHANNEL_FIELDS.get(channel, ()) if not data[name]}
        if not data["consent"]:
            problems["consent"] = ["Needed to contact you."]
        if problems:
            raise ValidationError(problems)

    @post_load
    def _gather_equality(self, data: dict, **_kwargs) -> dict:
        data["equality"] = {question: data.pop(f"{EQUALITY_PREFIX}{question}") for question in EQUALITY_QUESTIONS}
        return data


# One optional field per equality question (`equality_age_band`, ...), each taking its answers' codes.
HaveYourSayFormSchema = type(
    "HaveYourSayFormSchema",
    (_FormSchema,),
    {
        f"{EQUALITY_PREFIX}{question}": fields.String(
            load_default=None, validate=validate.OneOf([answer.code for answer in answers])
        )
        for question, answers in EQUALITY_QUESTIONS.items()
    },
)
