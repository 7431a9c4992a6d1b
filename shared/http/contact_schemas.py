"""The contact-detail fields of any schema a person's details come in by: an API body, a CSV
row, a page's form. Each is read with shared.rules.contact_details, so a number or postcode is
stored one way whichever door it came through."""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.http.schemas import text
from shared.rules.constants import CHANNEL_POST, CHANNEL_SMS
from shared.rules.contact_details import (
    LETTER_ADDRESS_LINES,
    LETTER_ADDRESS_MIN_LINES,
    PHONE_TEXT_MAX,
    InvalidContactDetail,
    phone_number,
    postcode,
)

ADDRESS_LINE_MAX = 100
# The letter's lines are the name, these and the postcode: seven at most (Notify's limit).
ADDRESS_LINES_MAX = LETTER_ADDRESS_LINES - 2


def _readable(read: Callable[[str], str]) -> Callable[[str], None]:
    def check(value: str) -> None:
        try:
            read(value)
        except InvalidContactDetail as invalid:
            raise ValidationError(str(invalid)) from None

    return check


def phone_field(**kwargs) -> fields.String:
    """Any valid phone number (whether it must be a mobile depends on the channel chosen)."""
    return fields.String(validate=[validate.Length(max=PHONE_TEXT_MAX), _readable(phone_number)], **kwargs)


def address_lines_field(**kwargs) -> fields.List:
    return fields.List(
        text(ADDRESS_LINE_MAX),
        validate=validate.Length(min=1, max=ADDRESS_LINES_MAX),
        metadata={"description": "The postal address without the postcode: house and street first."},
        **kwargs,
    )


def postcode_field(**kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(max=10), _readable(postcode)], metadata={"description": "A UK postcode."}, **kwargs
    )


class ContactDetailsSchema(Schema):
    """`phone`, `address_lines` and `postcode`, read and checked against the chosen channel:
    a text message needs a mobile, a letter an address with a UK postcode. The loaded
    values are the stored forms (+447700900123, SW1A 1AA)."""

    phone = phone_field(load_default=None, load_only=True)
    address_lines = address_lines_field(load_default=None, load_only=True)
    postcode = postcode_field(load_default=None, load_only=True)

    @validates_schema
    def _contact_details_readable(self, data: dict, **_kwargs) -> None:
        errors: dict[str, list[str]] = {}
        wants = data.get("preferred_channel")
        if data.get("phone") and wants == CHANNEL_SMS:
            try:
                phone_number(data["phone"], mobile=True)
            except InvalidContactDetail as invalid:
                errors["phone"] = [str(invalid)]
        if wants == CHANNEL_POST and data.get("consent_to_contact"):
            if not data.get("postcode"):
                errors["postcode"] = ["Required when the preferred channel is post."]
            lines = len(data.get("address_lines") or []) + 1 + (1 if data.get("name") else 0)
            if not data.get("address_lines"):
                errors["address_lines"] = ["Required when the preferred channel is post."]
            elif lines < LETTER_ADDRESS_MIN_LINES:
                errors["address_lines"] = ["Give at least two lines (or a name and one line) besides the postcode."]
        if data.get("address_lines") and not data.get("postcode") and "postcode" not in errors:
            errors["postcode"] = ["Required with an address."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _stored_forms(self, data: dict, **_kwargs) -> dict:
        if data.get("phone"):
            data["phone"] = phone_number(data["phone"])
        elif "phone" in data:
            data["phone"] = None
        if data.get("postcode"):
            data["postcode"] = postcode(data["postcode"])
        if data.get("address_lines"):
            data["address_lines"] = [line.strip() for line in data["address_lines"]]
        return data
