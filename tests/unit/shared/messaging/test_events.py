"""The CloudEvents envelope: what the consumer accepts, and why it refuses the rest."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from marshmallow import ValidationError

from services.intake.entrypoints.schemas import EngagementSchema
from shared.messaging import events
from shared.messaging.events import RejectedEvent
from shared.rules.constants import CONTRIBUTION_RECEIVED
from tests.support import factories

TENANT = "wiltshire"


def submission(**overrides) -> dict:
    envelope = factories.submission_event(TENANT, factories.contribution_payload(str(uuid.uuid4())))
    envelope.update(overrides)
    return envelope


def submission_without(attribute: str) -> dict:
    envelope = submission()
    del envelope[attribute]
    return envelope


def rejection(raw: bytes) -> RejectedEvent:
    with pytest.raises(RejectedEvent) as caught:
        events.parse(raw)
    return caught.value


class TestParseRefuses:
    def test_bytes_that_are_not_utf8(self):
        latin1 = json.dumps(submission(), ensure_ascii=False).replace("Please", "Caf\u00e9").encode("latin-1")

        assert rejection(latin1).reason.startswith("not JSON")

    @pytest.mark.parametrize(
        "encode",
        [
            lambda text: text.encode("utf-16"),
            lambda text: text.encode("utf-16-le"),
            lambda text: text.encode("utf-32"),
            lambda text: text.encode("utf-8-sig"),
        ],
        ids=["utf-16 with BOM", "utf-16 without BOM", "utf-32", "utf-8 with BOM"],
    )
    def test_json_in_any_encoding_but_plain_utf8(self, encode):
        assert rejection(encode(json.dumps(submission()))).reason.startswith("not JSON")

    @pytest.mark.parametrize(
        ("attribute", "value"),
        [("subject", "s" * 257), ("subject", "line\nbreak"), ("datacontenttype", "application/" + "x" * 100)],
        ids=["subject too long", "subject with a control character", "datacontenttype too long"],
    )
    def test_an_optional_attribute_over_its_limit(self, attribute, value):
        reason = rejection(events.dumps(submission(**{attribute: value}))).reason

        assert reason.startswith("not a CloudEvent") and attribute in reason

    def test_a_body_that_is_not_json(self):
        assert rejection(b"engagement_id=42&text=hello").reason.startswith("not JSON")

    def test_a_json_array_of_envelopes(self):
        reason = rejection(events.dumps([submission()])).reason

        assert reason == "not a CloudEvent: the message body is not a JSON object"

    def test_json_nested_too_deeply_to_decode(self):
        too_deep = b"[" * 50_000 + b"]" * 50_000

        assert rejection(too_deep).reason.startswith("not JSON")

    @pytest.mark.parametrize("attribute", ["specversion", "id", "source", "type", "tenant", "data"])
    def test_an_envelope_missing_a_required_attribute(self, attribute):
        reason = rejection(events.dumps(submission_without(attribute))).reason

        assert reason.startswith("not a CloudEvent: ")
        assert f" {attribute}: " in reason

    def test_a_tenant_that_is_not_a_slug(self):
        reason = rejection(events.dumps(submission(tenant="Wiltshire Council"))).reason

        assert "tenant: Not a valid tenant slug." in reason
        assert "Wiltshire Council" not in reason

    def test_another_specversion(self):
        reason = rejection(events.dumps(submission(specversion="0.3"))).reason

        assert " specversion: " in reason
        assert "0.3" not in reason

    def test_reason_names_every_bad_field_and_quotes_no_value(self):
        participant = factories.participant_payload()
        envelope = submission(
            tenant=participant["email"],
            source="",
            time=f"when {participant['name']} called",
            data=participant["phone"],
        )

        reason = rejection(events.dumps(envelope)).reason

        for attribute in ("tenant", "source", "time", "data"):
            assert f" {attribute}: " in reason
        for value in (participant["email"], participant["name"], participant["phone"]):
            assert value not in reason


class TestParseAccepts:
    def test_a_case_system_submission(self):
        envelope = submission()

        parsed = events.parse(events.dumps(envelope))

        assert {k: parsed[k] for k in ("specversion", "id", "source", "type", "tenant", "data")} == {
            k: envelope[k] for k in ("specversion", "id", "source", "type", "tenant", "data")
        }

    def test_extension_attributes_beyond_tenant(self):
        envelope = submission(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", caseref="A-17")

        parsed = events.parse(events.dumps(envelope))

        assert parsed["traceparent"] == envelope["traceparent"]
        assert parsed["caseref"] == "A-17"

    def test_text_as_well_as_bytes(self):
        envelope = submission()

        assert events.parse(events.dumps(envelope).decode())["id"] == envelope["id"]


class TestFlattenErrors:
    def test_nested_messages_become_dotted_field_names(self):
        messages = {"participant": {"email": ["Not a valid email address."], "phone": ["Not a valid phone number."]}}

        assert events.flatten_errors(messages) == {
            "participant.email": ["Not a valid email address."],
            "participant.phone": ["Not a valid phone number."],
        }

    def test_a_schema_level_message_is_filed_under_its_parent(self):
        messages = {"participant": {"_schema": ["Give an email or a phone."]}, "_schema": ["Invalid input type."]}

        assert events.flatten_errors(messages) == {
            "participant": ["Give an email or a phone."],
            "_schema": ["Invalid input type."],
        }

    def test_errors_in_list_items_name_the_item(self):
        invalid = factories.engagement_payload(can_change=["opening hours", "   "])
        with pytest.raises(ValidationError) as caught:
            EngagementSchema().load(invalid)

        assert list(events.flatten_errors(caught.value.messages)) == ["can_change[1]"]

    def test_errors_in_a_list_of_objects_name_the_index(self):
        messages = {"links": [{"influence": ["Missing data for required field."]}, {}]}

        assert events.flatten_errors(messages) == {"links[0].influence": ["Missing data for required field."]}


class TestMakeAndDumps:
    def test_a_made_event_survives_the_wire(self):
        when = dt.datetime(2026, 3, 1, 10, 30, tzinfo=dt.UTC)
        aggregate = uuid.uuid4()
        envelope = events.make(
            type=CONTRIBUTION_RECEIVED,
            source="urn:outcome-chain:intake",
            tenant=TENANT,
            subject=str(aggregate),
            time=when,
            data={"id": aggregate, "received_at": when, "feedback_due": when.date()},
        )

        parsed = events.parse(events.dumps(envelope))

        assert parsed["specversion"] == "1.0"
        assert parsed["type"] == CONTRIBUTION_RECEIVED
        assert parsed["tenant"] == TENANT
        assert parsed["subject"] == str(aggregate)
        assert parsed["time"] == when
        assert parsed["data"] == {"id": str(aggregate), "received_at": when.isoformat(), "feedback_due": "2026-03-01"}

    def test_each_made_event_has_its_own_id(self):
        made = [events.make(type=CONTRIBUTION_RECEIVED, source="urn:x", tenant=TENANT, data={}) for _ in range(3)]

        assert len({envelope["id"] for envelope in made}) == 3
