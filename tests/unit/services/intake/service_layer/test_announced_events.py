"""What each service really announces matches the one definition of its event
(shared/messaging/event_definitions.py), as the AsyncAPI document publishes it: a whole chain is run
through the three services and every event they put in their outboxes is checked."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest

from shared.messaging.asyncapi import build_document
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    DECISION_RECORDED,
    ENGAGEMENT_CREATED,
    NOTIFICATION_SENT,
    OUTCOME_RATED,
)

SERVICES = ("intake", "decisions", "notifier")


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document()


def matches(document: dict, event: dict) -> list[str]:
    """Why `event` does not match its message in the document ([] when it does)."""
    payload = document["components"]["messages"][event["type"]]["payload"]
    validator = jsonschema.Draft7Validator({**payload, "components": document["components"]})
    return [f"{event['type']}: {error.message}" for error in validator.iter_errors(event)]


def test_every_event_of_a_whole_chain_matches_its_definition(loop, document):
    contribution = loop.contribute(loop.engagement()["id"])
    loop.decide([contribution["id"]])
    loop.send_messages()
    loop.rate(contribution, "yes", dt.datetime.now(dt.UTC))

    announced = [event for service in SERVICES for event in loop.relay.announced(service)]

    assert {
        ENGAGEMENT_CREATED,
        CONTRIBUTION_RECEIVED,
        DECISION_RECORDED,
        CONTRIBUTION_LINKED,
        NOTIFICATION_SENT,
        OUTCOME_RATED,
    } <= {event["type"] for event in announced}
    assert [problem for event in announced for problem in matches(document, event)] == []
