"""The public form's use cases on the real services (SQLite, events relayed): a view sent
through the form is acknowledged like any other, and its equality answers are counted on
the staff dashboard with small groups hidden."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.domain.public_form import EngagementClosed
from services.intake.service_layer import dashboard, public_form, services
from shared.infra.tables import utcnow
from shared.rules.domain import UK
from tests.support.clock import to_uk_day


def form(n: int, **overrides) -> dict:
    """The form as its schema loads it: person n, who wants email updates."""
    loaded = {
        "text": f"View {n}: keep the mobile library stopping at the village hall.",
        "name": None,
        "channel": "email",
        "email": f"person{n}@example.org",
        "phone": None,
        "consent": True,
        "format": "standard",
        "language": "en",
        "website": "",
        "equality": {"age_band": "65_74", "welsh_speaker": "yes"},
    }
    loaded.update(overrides)
    return loaded


def send(loop, engagement: dict, loaded: dict, *, address: str = "203.0.113.7", now=None):
    intake = loop.chain.intake
    return public_form.have_your_say(
        intake.uow(), engagement["id"], loaded, address=address, now=now or utcnow(), source=intake.source
    )


def numbers(loop, engagement: dict) -> dict:
    return dashboard.dashboard(
        loop.chain.intake.uow(read_only=True),
        loop.council.slug,
        engagement_id=engagement["id"],
        today=utcnow().astimezone(UK).date(),
    )


def test_views_are_acknowledged_in_the_persons_language_and_format(loop):
    engagement = loop.engagement()

    receipt = send(loop, engagement, form(1, language="cy", format="easy_read"))
    loop.send_messages()

    [acknowledgement] = loop.chain.provider.sent
    assert acknowledgement.to == "person1@example.org"
    assert receipt.reference in acknowledgement.text and receipt.new


def test_equality_answers_are_counted_on_the_dashboard_with_groups_under_five_hidden(loop):
    engagement = loop.engagement()
    for n in range(6):
        send(loop, engagement, form(n))
    for n in range(6, 11):
        send(loop, engagement, form(n, equality={"age_band": "25_34"}))
    for n in range(11, 13):
        send(loop, engagement, form(n, equality={"age_band": "16_24", "welsh_speaker": "prefer_not_to_say"}))

    questions = numbers(loop, engagement)["equality"]["questions"]
    groups = {g["answer"]: g for g in questions["age_band"]}

    assert groups["65 to 74"]["people"] == 6
    assert groups["16 to 24"]["people"] == "fewer than 5"
    assert groups["16 to 24"]["participation_rate"] == "withheld"
    assert groups["25 to 34"]["people"] == "5 or more"  # else 13 - 6 - 5 would give the small group away
    assert {g["answer"] for g in questions["welsh_speaker"]} == {"Yes", "Prefer not to say", "not answered"}


def test_a_repeat_is_kept_once_that_day_and_is_new_the_next(loop):
    engagement = loop.engagement()
    now = utcnow()

    first = send(loop, engagement, form(1), now=now)
    again = send(loop, engagement, form(1, email="someone.else@example.org"), now=now + dt.timedelta(seconds=5))
    tomorrow = send(loop, engagement, form(1), now=now + to_uk_day(1))

    assert (again.reference, again.new) == (first.reference, False)
    assert tomorrow.new and tomorrow.reference != first.reference
    assert numbers(loop, engagement)["coverage"]["contributions"] == 2


def test_a_closed_engagement_takes_no_views(loop):
    engagement = loop.engagement()

    with pytest.raises(EngagementClosed):
        send(loop, engagement, form(1), now=utcnow() + to_uk_day(61))


def test_an_engagement_staff_closed_takes_no_views_and_leaves_the_list(loop):
    engagement = loop.engagement()
    services.close_engagement(
        loop.chain.intake.uow(), loop.council.slug, engagement["id"], now=utcnow(), source="staff"
    )

    with pytest.raises(EngagementClosed):
        send(loop, engagement, form(1))
    listed = public_form.open_engagements(
        loop.chain.intake.uow(read_only=True), loop.council.slug, today=utcnow().astimezone(UK).date()
    )
    assert engagement["id"] not in [e.id for e in listed]


def test_the_councils_list_has_only_engagements_still_taking_views(loop):
    soon = loop.engagement(feedback_due=(utcnow().astimezone(UK).date() + dt.timedelta(days=3)).isoformat())
    later = loop.engagement()

    listed = public_form.open_engagements(
        loop.chain.intake.uow(read_only=True),
        loop.council.slug,
        today=utcnow().astimezone(UK).date() + dt.timedelta(days=4),
    )

    assert [e.id for e in listed] == [later["id"]]
    assert soon["id"] not in [e.id for e in listed]
