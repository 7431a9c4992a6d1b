"""Phone numbers and postcodes are read one way, whichever door they came in by."""

from __future__ import annotations

import re

import pytest

from shared.rules.contact_details import (
    ENTER_A_NUMBER,
    ENTER_A_POSTCODE,
    NOT_A_MOBILE,
    InvalidContactDetail,
    letter_address,
    phone_for_display,
    phone_number,
    phone_number_or_none,
    postcode,
)


@pytest.mark.parametrize(
    "typed",
    ["+44 (0)7700 900123", "07700 900123", "+447700900123", "07700900123", "0044 7700 900123", "(07700) 900-123"],
)
def test_every_way_of_writing_a_uk_mobile_is_one_number(typed):
    assert phone_number(typed, mobile=True) == "+447700900123"


def test_a_real_uk_mobile_range_is_a_mobile():
    assert phone_number("07911 123456", mobile=True) == "+447911123456"


@pytest.mark.parametrize("landline", ["020 7946 0000", "01632 960123", "+44 29 2087 2087"])
def test_a_landline_is_a_phone_number_but_cannot_take_a_text(landline):
    assert phone_number(landline).startswith("+44")
    with pytest.raises(InvalidContactDetail, match=re.escape(NOT_A_MOBILE)):
        phone_number(landline, mobile=True)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+353 85 123 4567", "+353851234567"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("0033 6 12 34 56 78", "+33612345678"),
    ],
)
def test_international_numbers_keep_their_country(typed, stored):
    assert phone_number(typed) == stored


@pytest.mark.parametrize("typed", ["call me", "123", "07700 9001", "+44 7700 900 123 456 789 0", "", "0" * 40])
def test_what_is_not_a_phone_number_is_refused_with_an_example(typed):
    with pytest.raises(InvalidContactDetail, match=re.escape(ENTER_A_NUMBER)):
        phone_number(typed)


def test_an_sms_sender_is_read_leniently_and_nonsense_is_none():
    assert phone_number_or_none("+447700900123") == phone_number_or_none("+44 (0)7700 900123") == "+447700900123"
    assert phone_number_or_none("not a number") is None
    assert phone_number_or_none(None) is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("sw1a1aa", "SW1A 1AA"), ("CF10 1BH", "CF10 1BH"), (" ll57  2dg ", "LL57 2DG"), ("m1 1ae", "M1 1AE")],
)
def test_a_postcode_is_written_in_capitals_with_one_space(typed, stored):
    assert postcode(typed) == stored


@pytest.mark.parametrize("typed", ["CF10", "12345", "QQ1 1AA", "SW1A 1AAA", ""])
def test_what_is_not_a_uk_postcode_is_refused(typed):
    with pytest.raises(InvalidContactDetail, match=re.escape(ENTER_A_POSTCODE)):
        postcode(typed)


def test_a_letter_is_addressed_name_first_and_postcode_last():
    assert letter_address("Ann Example", ["1 High Street", "Cardiff"], "CF10 1BH") == [
        "Ann Example",
        "1 High Street",
        "Cardiff",
        "CF10 1BH",
    ]
    assert letter_address(None, ["1 High Street", "Cardiff"], "CF10 1BH")[0] == "1 High Street"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("+447700900123", "07700 900123"), ("+441632960001", "01632 960001"), ("+33123456789", "+33 1 23 45 67 89")],
)
def test_a_stored_number_is_shown_as_people_write_it(stored, shown):
    assert phone_for_display(stored) == shown
