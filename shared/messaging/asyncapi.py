"""The AsyncAPI 3.0 document of every topic and event, generated from shared/messaging/event_definitions.py.

Every service serves the same document at `GET /asyncapi.json` (the topics are the whole
system's, and an integrator may reach only one service), beside its own `/openapi.json`.
Event `data` schemas are the marshmallow schemas consumers load them with, converted to JSON
Schema by apispec's MarshmallowPlugin, as the OpenAPI documents are.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

from shared.http.openapi import JSON, _version, documented
from shared.messaging.event_definitions import EVENTS, EventDefinition
from shared.rules.constants import CLOUDEVENTS_CONTENT_TYPE, SUBMISSIONS_TOPIC, TOPIC_EVENT_TYPES, TOPIC_PUBLISHERS

ASYNCAPI_VERSION = "3.0.0"


def _data_schemas() -> dict:
    """{schema name: JSON Schema} of every event's `data`, and the schemas they nest."""
    spec = APISpec(title="events", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    for schema in {definition.data for definition in EVENTS.values()}:
        spec.components.schema(schema.__name__, schema=schema)
    return spec.to_dict()["components"]["schemas"]


def _envelope(definition: EventDefinition) -> dict:
    """The CloudEvent (structured mode, JSON) an event travels in; `data` is its own schema."""
    text = {"type": "string"}
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "tenant", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {**text, "description": "unique per source; a repeated (source, id) is applied once"},
            "source": {**text, "description": "urn:outcome-chain:<service>, or a case system's registered URI"},
            "type": {"type": "string", "const": definition.type},
            "tenant": {**text, "description": "the council's slug"},
            "time": {**text, "format": "date-time"},
            "subject": {**text, "description": "what the event is about; also the Kafka key"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": {"$ref": f"#/components/schemas/{definition.data.__name__}"},
        },
    }


def _channel(topic: str) -> dict:
    publisher = TOPIC_PUBLISHERS.get(topic, "councils' case systems (each source registered by its council)")
    return {
        "address": topic,
        "description": f"Published by {publisher}. Keyed by the event's subject.",
        "messages": {
            event_type: {"$ref": f"#/components/messages/{event_type}"}
            for event_type in sorted(TOPIC_EVENT_TYPES[topic])
        },
    }


def _operation(topic: str) -> dict:
    """Outcome Chain receives what case systems submit, and sends everything else."""
    return {
        "action": "receive" if topic == SUBMISSIONS_TOPIC else "send",
        "channel": {"$ref": f"#/channels/{topic}"},
        "messages": [
            {"$ref": f"#/channels/{topic}/messages/{event_type}"} for event_type in sorted(TOPIC_EVENT_TYPES[topic])
        ],
    }


def build_document() -> dict:
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Outcome Chain events",
            "version": _version(),
            "description": (
                "Every Kafka topic of Outcome Chain and the events it carries, as CloudEvents in structured "
                "JSON mode. Consumers ignore fields they do not know, so events only ever gain fields. "
                "Contact details and contributions' words travel sealed, never in the clear."
            ),
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "channels": {topic: _channel(topic) for topic in TOPIC_EVENT_TYPES},
        "operations": {
            f"{'receive' if topic == SUBMISSIONS_TOPIC else 'send'}-{topic}": _operation(topic)
            for topic in TOPIC_EVENT_TYPES
        },
        "components": {
            "schemas": _data_schemas(),
            "messages": {
                definition.type: {
                    "name": definition.type,
                    "title": definition.type,
                    "summary": definition.summary,
                    "contentType": CLOUDEVENTS_CONTENT_TYPE,
                    "payload": _envelope(definition),
                }
                for definition in EVENTS.values()
            },
        },
    }


def document() -> dict:
    """`build_document`, once per app."""
    if "asyncapi" not in current_app.extensions:
        current_app.extensions["asyncapi"] = build_document()
    return current_app.extensions["asyncapi"]


@documented(responses={200: {JSON: {"type": "object"}}})
def asyncapi_json():
    """Every topic and event of Outcome Chain, as an AsyncAPI 3.0 document."""
    return jsonify(document())


def blueprint() -> Blueprint:
    """`GET /asyncapi.json`, without a key."""
    routes = Blueprint("asyncapi", __name__)
    routes.add_url_rule("/asyncapi.json", view_func=asyncapi_json)
    return routes
