"""JSON logs that never carry contact details or what a person wrote."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from shared.infra.logging import REDACTED, JsonFormatter
from tests.support import factories


class CapturedLog:
    """A logger whose records go through JsonFormatter into memory."""

    def __init__(self):
        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter("intake"))
        self.logger = logging.getLogger(f"tests.unit.logging.{uuid.uuid4().hex}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def log() -> CapturedLog:
    return CapturedLog()


@pytest.fixture
def participant() -> dict:
    return factories.participant_payload()


def test_each_record_is_one_json_object(log):
    log.logger.warning("outbox relay retrying", extra={"retry_in": 0.4})

    [entry] = log.entries()
    assert entry["level"] == "warning"
    assert entry["service"] == "intake"
    assert entry["logger"] == log.logger.name
    assert entry["message"] == "outbox relay retrying"
    assert entry["retry_in"] == 0.4
    assert entry["time"]


class TestRedaction:
    def test_an_email_in_the_message_is_masked(self, log, participant):
        log.logger.info("could not reach %s", participant["email"])

        assert participant["email"] not in log.text
        assert log.entries()[0]["message"] == f"could not reach {REDACTED}"

    @pytest.mark.parametrize("phone", ["+44 7700 900123", "07700 900123", "(01632) 960 001"])
    def test_a_phone_number_in_the_message_is_masked(self, log, phone):
        log.logger.info(f"sms to {phone} failed")

        assert phone not in log.text

    def test_contact_details_in_extra_fields_are_masked(self, log, participant):
        log.logger.info("sent", extra={"recipient": participant["email"], "sms_to": participant["phone"]})

        [entry] = log.entries()
        assert entry["recipient"] == REDACTED
        assert entry["sms_to"] == REDACTED

    def test_contact_details_inside_structured_extra_fields_are_masked(self, log, participant):
        log.logger.info(
            "batch sent", extra={"recipients": [participant["email"]], "contact": {"phone": participant["phone"]}}
        )

        assert participant["email"] not in log.text
        assert participant["phone"] not in log.text

    @pytest.mark.parametrize(
        "value",
        ["WILTSHIRE-2026-000123", "8f14e45f-ceea-467f-a0e6-1f2c3d4e5f60", "feedback due 2026-03-01", "500 rows"],
    )
    def test_ordinary_operational_values_are_kept(self, log, value):
        log.logger.info(f"processed {value}")

        assert log.entries()[0]["message"] == f"processed {value}"


class TestExceptions:
    def test_the_type_is_logged_but_not_the_message_that_may_quote_input(self, log, participant):
        text = "Please open the centre on Saturdays"
        try:
            raise ValueError(f"cannot parse {text!r} from {participant['name']}")
        except ValueError:
            log.logger.exception("handler crashed")

        [entry] = log.entries()
        assert entry["exception"] == "ValueError"
        assert "test_logging.py" in entry["traceback"]
        assert text not in log.text
        assert participant["name"] not in log.text
