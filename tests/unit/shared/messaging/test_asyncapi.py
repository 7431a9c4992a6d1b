"""Every service serves the AsyncAPI 3.0 document of every topic and event: valid against the
official AsyncAPI 3.0 JSON Schema (@asyncapi/specs, installed by `make node_modules/.installed`),
and true to what the services really send."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from flask import Flask

from shared.messaging.event_definitions import EVENTS
from shared.rules.constants import TOPIC_EVENT_TYPES
from tests.support import factories

ROOT = Path(__file__).resolve().parents[4]
ASYNCAPI_SCHEMA = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"


@pytest.fixture
def documents(apps: dict[str, Flask]) -> dict[str, dict]:
    found = {}
    for service, app in apps.items():
        response = app.test_client().get("/asyncapi.json")  # no key: the document is public
        assert (response.status_code, response.mimetype) == (200, "application/json")
        found[service] = response.json
    return found


def payload_validator(document: dict, event_type: str) -> jsonschema.Draft7Validator:
    """Checks a whole CloudEvent against the document's message for its type."""
    payload = document["components"]["messages"][event_type]["payload"]
    return jsonschema.Draft7Validator({**payload, "components": document["components"]})


def test_every_service_serves_one_document_valid_against_asyncapi_3(documents):
    official = json.loads(ASYNCAPI_SCHEMA.read_text())
    first, *others = documents.values()
    jsonschema.Draft7Validator(official).validate(first)
    assert first["asyncapi"] == "3.0.0"
    assert all(other == first for other in others)


def test_every_topic_is_a_channel_carrying_exactly_its_event_types(documents):
    document = documents["intake"]
    assert {channel["address"]: set(channel["messages"]) for channel in document["channels"].values()} == {
        topic: set(types) for topic, types in TOPIC_EVENT_TYPES.items()
    }
    assert set(document["components"]["messages"]) == set(EVENTS)


def test_an_event_as_intake_announces_it_matches_its_message(documents):
    event = json.loads(json.dumps(factories.engagement_created_event("wiltshire")))

    payload_validator(documents["intake"], "engagement.created").validate(event)


def test_an_event_missing_a_required_data_field_does_not_match(documents):
    event = json.loads(json.dumps(factories.engagement_created_event("wiltshire")))
    del event["data"]["title"]

    with pytest.raises(jsonschema.ValidationError, match="'title' is a required property"):
        payload_validator(documents["intake"], "engagement.created").validate(event)
