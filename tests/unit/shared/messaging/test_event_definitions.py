"""Each event's definition builds its data: a producer that leaves out a field, adds one the
definition does not know, or sends the wrong kind of value fails where it announces, and what
it builds is what the consumers load."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from shared.messaging.event_definitions import EVENTS, EventDataError
from shared.messaging.event_schemas import (
    ContributionStoryEventData,
    FeedbackOverdueEventData,
    LinkEventData,
    NotificationEventData,
    ParticipantErasedEventData,
)
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    NOTIFICATION_SENT,
    PARTICIPANT_ERASED,
    TOPIC_EVENT_TYPES,
)


def linked_fields(**overrides) -> dict:
    """contribution.linked's fields as decisions announces them."""
    fields = {
        "link_id": str(uuid.uuid4()),
        "contribution_id": str(uuid.uuid4()),
        "participant_id": str(uuid.uuid4()),
        "reference": "WIL-2027-000001",
        "engagement_id": str(uuid.uuid4()),
        "sealed_influence": "sealed-token",
        "decision_id": str(uuid.uuid4()),
        "board_id": str(uuid.uuid4()),
        "version": 1,
        "title": "Keep Elm Road open on Saturdays",
        "description": "Saturday opening stays.",
        "decided_on": dt.date(2027, 1, 15),
        "outcome": "adopted",
        "rationale": None,
        "scope_limit_kind": None,
        "scope_limit": None,
        "revisit_on": None,
        "resource_changes": [
            {"resource_change_id": str(uuid.uuid4()), "kind": "staff", "description": "A warden", "status": "planned"}
        ],
    }
    return {**fields, **overrides}


def test_every_event_type_of_every_topic_has_a_definition():
    assert {event_type for types in TOPIC_EVENT_TYPES.values() for event_type in types} == set(EVENTS)


def test_built_data_is_what_the_consumers_load_with_the_context_messages_quote():
    built = EVENTS[CONTRIBUTION_LINKED].build(**linked_fields())

    loaded = LinkEventData().load(built)
    assert loaded["contribution_id"] == built["contribution_id"]
    assert ContributionStoryEventData().load(built)["participant_id"] == built["participant_id"]
    # The notifier quotes these in the participant's message: they travel as built.
    assert (built["reference"], built["title"], built["decided_on"]) == (
        "WIL-2027-000001",
        "Keep Elm Road open on Saturdays",
        "2027-01-15",
    )
    assert built["resource_changes"][0]["kind"] == "staff"


def test_a_missing_field_is_refused_where_the_event_is_built():
    fields = linked_fields()
    del fields["reference"]

    with pytest.raises(EventDataError) as refused:
        EVENTS[CONTRIBUTION_LINKED].build(**fields)

    assert refused.value.errors == {"reference": ["Missing data for required field."]}


def test_a_field_the_definition_does_not_know_is_refused():
    with pytest.raises(EventDataError) as refused:
        EVENTS[CONTRIBUTION_LINKED].build(**linked_fields(email="someone@example.org"))

    assert list(refused.value.errors) == ["email"]


def test_a_value_of_the_wrong_kind_is_refused():
    with pytest.raises(EventDataError) as refused:
        EVENTS[CONTRIBUTION_LINKED].build(**linked_fields(version="first", outcome="maybe"))

    assert set(refused.value.errors) == {"version", "outcome"}


LINK_OWN = ("link_id", "contribution_id", "participant_id", "reference", "engagement_id", "sealed_influence")


def split(fields: dict) -> tuple[dict, dict]:
    """(what every contribution.linked of one decision shares, this link's own fields)."""
    return {k: v for k, v in fields.items() if k not in LINK_OWN}, {k: fields[k] for k in LINK_OWN if k in fields}


def test_many_events_built_at_once_are_each_what_build_makes():
    shared, _ = split(linked_fields())
    each = [split(linked_fields(**shared))[1] for _ in range(3)]

    built = list(EVENTS[CONTRIBUTION_LINKED].build_each(shared, each))

    assert built == [EVENTS[CONTRIBUTION_LINKED].build(**own, **shared) for own in each]
    assert [event["contribution_id"] for event in built] == [own["contribution_id"] for own in each]


def test_a_later_event_of_many_with_a_value_of_the_wrong_kind_is_refused():
    shared, first = split(linked_fields())
    later = {**first, "link_id": 42}

    with pytest.raises(EventDataError) as refused:
        list(EVENTS[CONTRIBUTION_LINKED].build_each(shared, [first, later]))

    assert list(refused.value.errors) == ["link_id"]


def test_a_later_event_of_many_missing_a_field_or_with_one_unknown_is_refused():
    shared, first = split(linked_fields())
    missing = {k: v for k, v in first.items() if k != "reference"}
    unknown = {**first, "email": "someone@example.org"}

    for later, field in ((missing, "reference"), (unknown, "email")):
        with pytest.raises(EventDataError) as refused:
            list(EVENTS[CONTRIBUTION_LINKED].build_each(shared, [first, later]))
        assert list(refused.value.errors) == [field]


def test_a_shared_part_that_does_not_do_is_refused_with_the_first_event():
    shared, first = split(linked_fields(version="first"))

    with pytest.raises(EventDataError) as refused:
        list(EVENTS[CONTRIBUTION_LINKED].build_each(shared, [first]))

    assert list(refused.value.errors) == ["version"]


def test_times_and_days_travel_as_iso_text_and_load_back():
    now = dt.datetime.now(dt.UTC)
    erased = EVENTS[PARTICIPANT_ERASED].build(id=str(uuid.uuid4()), erased_at=now)
    overdue = EVENTS[CONTRIBUTION_FEEDBACK_OVERDUE].build(
        contribution_id=str(uuid.uuid4()),
        participant_id=str(uuid.uuid4()),
        reference="WIL-2027-000002",
        engagement_id=str(uuid.uuid4()),
        engagement_title="Day services review",
        feedback_due=dt.date(2027, 2, 3),
    )

    assert erased["erased_at"] == now.isoformat()
    assert ParticipantErasedEventData().load(erased)["erased_at"] == now
    assert overdue["feedback_due"] == "2027-02-03"
    assert FeedbackOverdueEventData().load(overdue)["contribution_id"] == overdue["contribution_id"]


def test_a_notification_event_without_its_participant_is_refused():
    fields = {
        "notification_id": str(uuid.uuid4()),
        "contribution_id": str(uuid.uuid4()),
        "kind": "decision_linked",
        "channel": "email",
        "status": "sent",
        "status_at": dt.datetime.now(dt.UTC),
        "reason": None,
    }

    with pytest.raises(EventDataError, match="participant_id"):
        EVENTS[NOTIFICATION_SENT].build(**fields)
    built = EVENTS[NOTIFICATION_SENT].build(**fields, participant_id=str(uuid.uuid4()))
    assert NotificationEventData().load(built)["status"] == "sent"
