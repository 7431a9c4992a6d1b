"""A tenant's letters stay within its monthly budget; over it, they wait for next month."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifier.domain.letters import LetterBudget, address_for, month_start, next_month_start
from shared.infra.settings import parse_letter_budget
from shared.rules.domain import UK


def uk(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UK).astimezone(dt.UTC)


def test_under_the_budget_a_letter_goes_and_at_it_the_letter_waits_for_the_first_of_next_month():
    budget = LetterBudget(parse_letter_budget("2"))
    now = uk(2027, 3, 14, 10, 0)

    assert budget.wait_until("cardiff", 1, now) is None
    assert budget.wait_until("cardiff", 2, now) == uk(2027, 4, 1)


def test_a_tenant_override_replaces_the_default_for_that_tenant_only():
    budget = LetterBudget(parse_letter_budget("2,cardiff=5,demo=0"))
    now = uk(2027, 3, 14, 10, 0)

    assert budget.wait_until("cardiff", 4, now) is None
    assert budget.wait_until("demo", 0, now) is not None  # no letters at all
    assert budget.wait_until("wiltshire", 2, now) is not None


@pytest.mark.parametrize(
    ("now", "start", "following"),
    [
        (uk(2027, 12, 31, 23, 30), uk(2027, 12, 1), uk(2028, 1, 1)),  # December into January
        (uk(2027, 4, 1, 0, 30), uk(2027, 4, 1), uk(2027, 5, 1)),  # just after midnight, BST
        (uk(2027, 3, 31, 23, 59), uk(2027, 3, 1), uk(2027, 4, 1)),  # the clocks changed that month
    ],
)
def test_months_are_uk_calendar_months(now, start, following):
    assert month_start(now) == start
    assert next_month_start(now) == following


def test_a_letter_goes_to_the_name_and_address_with_the_postcode_last():
    contact = {"name": "Ann Example", "address_lines": ["1 High Street", "Cardiff"], "postcode": "CF10 1BH"}

    assert address_for("post", contact) == "Ann Example\n1 High Street\nCardiff\nCF10 1BH"
    assert address_for("post", {**contact, "postcode": None}) is None
    assert address_for("post", {"address_lines": ["Cardiff"], "postcode": "CF10 1BH"}) is None  # too few lines


def test_an_sms_goes_to_the_number_in_e164_however_it_was_stored():
    assert address_for("sms", {"phone": "+44 (0)7700 900123"}) == "+447700900123"
    assert address_for("email", {"email": "ann@example.org"}) == "ann@example.org"
