"""Phone numbers and postal addresses, read the one way every service reads them.

A phone number is parsed with `phonenumbers` (Google's libphonenumber), the UK the region
when no country code is given, and kept in E.164: "+44 (0)7700 900123", "07700 900123"
and "+447700900123" are all +447700900123. A text message needs a mobile number; a
landline or an invalid number is refused with words a person can act on.

Ofcom keeps 07700 900000 to 07700 900999 (mobile) and 01632 960000 to 01632 960999
(landline) for drama: libphonenumber calls them invalid, but they are what the demo, the
documentation and the tests use, as they can reach no one; they are taken as the mobile
and landline numbers they stand for.

A UK postcode is checked against the format of the GOV.UK data standard (no library on
the package index does more than that regular expression and none is widely maintained)
and written in capitals with its one space: "sw1a1aa" -> "SW1A 1AA".
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "GB"
PHONE_TEXT_MAX = 32

# The national numbers of Ofcom's drama ranges, by the kind of number each stands for.
_DRAMA = {"mobile": re.compile(r"^7700900\d{3}$"), "landline": re.compile(r"^1632960\d{3}$")}
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

ENTER_A_NUMBER = "Enter a phone number, like 07700 900123 or +44 7700 900123."
NOT_A_MOBILE = "This is not a mobile number: text messages need a mobile number, like 07700 900123."


class InvalidContactDetail(ValueError):
    """A phone number or postcode that will not do; its message is for the person who gave it."""


def _parsed(text: str) -> phonenumbers.PhoneNumber | None:
    if not text or len(text) > PHONE_TEXT_MAX:
        return None
    try:
        return phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None


def _kind(number: phonenumbers.PhoneNumber) -> str | None:
    """Mobile, landline (any other valid number), or None for an invalid number."""
    if number.country_code == 44:
        for kind, pattern in _DRAMA.items():
            if pattern.match(str(number.national_number)):
                return kind
    if not phonenumbers.is_valid_number(number):
        return None
    return "mobile" if phonenumbers.number_type(number) in _MOBILE_TYPES else "landline"


def phone_number(text: str, *, mobile: bool = False) -> str:
    """The number in E.164 (+447700900123); InvalidContactDetail if it is not a valid number,
    or, with `mobile`, not a mobile one (a text message cannot go to it)."""
    kind, e164 = _read_phone(text)
    if kind is None:
        raise InvalidContactDetail(ENTER_A_NUMBER)
    if mobile and kind != "mobile":
        raise InvalidContactDetail(NOT_A_MOBILE)
    return e164


@functools.lru_cache(maxsize=32)
def _read_phone(text: str) -> tuple[str | None, str | None]:
    """(mobile, landline or None, E.164) of a number as written. The last few are kept (in
    this process's memory only), as a schema reads each number up to three times: to check
    it, to check it against the channel, to store it."""
    number = _parsed(text)
    kind = _kind(number) if number is not None else None
    return kind, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if kind else None


def phone_number_or_none(text: str | None) -> str | None:
    """The number in E.164 if it can be read as one, else None: for numbers that arrive from
    elsewhere (an SMS reply's sender, a stored contact), where refusing helps no one."""
    number = _parsed(text or "")
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_display(stored: str | None) -> str:
    """A stored number as people write it: a UK one in the national format (07700 900123),
    any other in the international one (+33 1 23 45 67 89); text that is no number as it is."""
    number = _parsed(stored or "")
    if number is None:
        return stored or ""
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, style.NATIONAL if number.country_code == 44 else style.INTERNATIONAL)


# The GOV.UK data standard's postcode pattern, with GIR 0AA (Girobank), spaces optional.
_POSTCODE = re.compile(
    r"^(GIR ?0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|"
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
ENTER_A_POSTCODE = "Enter a UK postcode, like SW1A 1AA."


def postcode(text: str) -> str:
    """The postcode in capitals with one space before its last three characters."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if not _POSTCODE.match(compact):
        raise InvalidContactDetail(ENTER_A_POSTCODE)
    return f"{compact[:-3]} {compact[-3:]}"


LETTER_ADDRESS_LINES = 7  # GOV.UK Notify: address_line_1 to address_line_7, the postcode last
LETTER_ADDRESS_MIN_LINES = 3


def letter_address(name: str | None, lines: list[str] | None, code: str | None) -> list[str]:
    """The lines a letter is addressed with: the name, the address, the postcode last."""
    return [line for line in [name, *(lines or []), code] if line]
