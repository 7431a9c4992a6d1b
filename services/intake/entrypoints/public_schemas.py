"""The public "have your say" form, as a browser posts it (form fields, not JSON)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from services.intake.domain.public_form import EQUALITY_QUESTIONS
from services.intake.entrypoints.schemas import ParticipantSchema
from shared.http.contact_schemas import ADDRESS_LINE_MAX, ContactDetailsSchema, postcode_field
from shared.http.pages import LANGUAGES
from shared.http.schemas import text as text_field
from shared.rules.constants import CONTACT_CHANNELS, CONTRIBUTION_TEXT_MAX, MESSAGE_FORMATS

EQUALITY_PREFIX = "equality_"
HONEYPOT = "website"  # hidden from people; a bot that fills every field fills it
# What each channel needs from the person, by form field. A channel added to
# CONTACT_CHANNELS without an entry here is offered with nothing more to fill in.
# A letter's address is typed in as GOV.UK's address pattern has it: two lines, the town
# (the API's `address_lines`, in that order), and the postcode.
ADDRESS_FIELDS = ("address_line_1", "address_line_2", "address_town")
CHANNEL_FIELDS = {"email": ("email",), "sms": ("phone",), "post": (*ADDRESS_FIELDS, "postcode")}
OPTIONAL_FIELDS = {"address_line_2"}
# How each of those fields is typed in (any other: plain text); its label is `form.<field>`.
FIELD_INPUTS = {
    "email": {"type": "email", "autocomplete": "email"},
    "phone": {"type": "tel", "autocomplete": "tel"},
    "address_line_1": {"type": "text", "autocomplete": "address-line1"},
    "address_line_2": {"type": "text", "autocomplete": "address-line2"},
    "address_town": {"type": "text", "autocomplete": "address-level2"},
    "postcode": {"type": "text", "autocomplete": "postal-code"},
}
PLAIN_INPUT = {"type": "text", "autocomplete": "on"}
_participant = ParticipantSchema._declared_fields


class _ContactDetails(ContactDetailsSchema):
    """The form's phone number and address read by the API's rules (ContactDetailsSchema):
    a text message needs a mobile, a letter an address with a UK postcode."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(load_default=None)
    preferred_channel = fields.String(required=True)
    consent_to_contact = fields.Boolean(load_default=False)

    @classmethod
    def of(cls, form: dict) -> dict:
        """What the API's participant would have been sent, from the form's fields."""
        lines = [form[name] for name in ADDRESS_FIELDS if form.get(name)]
        given = {"address_lines": lines or None, "phone": form.get("phone"), "postcode": form.get("postcode")}
        return {
            **{name: value for name, value in given.items() if value is not None},
            "name": form.get("name"),
            "preferred_channel": form.get("channel"),
            "consent_to_contact": form.get("consent", False),
        }


_contact_details = _ContactDetails()


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the submit button and anything a browser adds

    text = text_field(CONTRIBUTION_TEXT_MAX, required=True)
    name = text_field(200, load_default=None)
    channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    email = _participant["email"]
    phone = _participant["phone"]
    address_line_1 = text_field(ADDRESS_LINE_MAX, load_default=None)
    address_line_2 = text_field(ADDRESS_LINE_MAX, load_default=None)
    address_town = text_field(ADDRESS_LINE_MAX, load_default=None)
    postcode = postcode_field(load_default=None)
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
        needed = (name for name in CHANNEL_FIELDS.get(channel, ()) if name not in OPTIONAL_FIELDS)
        problems = {name: ["Required for this channel."] for name in needed if not data[name]}
        if not data["consent"]:
            problems["consent"] = ["Needed to contact you."]
        try:
            _contact_details.load(_ContactDetails.of(data))
        except ValidationError as unreadable:  # the address's errors are about its first line
            for name, messages in unreadable.messages.items():
                problems.setdefault(ADDRESS_FIELDS[0] if name == "address_lines" else name, messages)
        if problems:
            raise ValidationError(problems)

    @post_load
    def _stored_contact_details(self, data: dict, **_kwargs) -> dict:
        """The phone number, address and postcode as the API stores them (+447700900123, SW1A 1AA)."""
        reachable = data["channel"] != "none" and data["consent"]
        read = _contact_details.load(_ContactDetails.of(data)) if reachable else {}
        for name in ADDRESS_FIELDS:
            data.pop(name)
        data.update(phone=read.get("phone"), address_lines=read.get("address_lines"), postcode=read.get("postcode"))
        return data

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
