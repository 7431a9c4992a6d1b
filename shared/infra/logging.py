"""JSON logs that never carry contact details or free text.

The first defence is discipline: log ids and counts, never payloads. The second is
this filter, which masks anything shaped like an email address or phone number that
slips into a message or an `extra` field anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A run of digits, spaces, brackets and hyphens; it is a phone number if it holds 10 or
# more digits and is not an ISO date or time (see _mask_phone).
PHONE_LIKE = re.compile(r"(?<![\w-])\+?\d[\d ()-]{8,}\d(?![\w-])")
DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2})?")
REDACTED = "[redacted]"

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _mask_phone(match: re.Match) -> str:
    text = match.group(0)
    if DATE_LIKE.fullmatch(text) or sum(c.isdigit() for c in text) < 10:
        return text
    return REDACTED


def redact(text: str) -> str:
    return PHONE_LIKE.sub(_mask_phone, EMAIL.sub(REDACTED, text))


def redact_value(value: object) -> object:
    """Redact strings anywhere inside a structured `extra` value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [redact_value(item) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                entry[name] = redact_value(value)
        if record.exc_info:
            # The exception type and where it happened; its message may quote input.
            exc_type, _, tb = record.exc_info
            entry["exception"] = exc_type.__name__ if exc_type else None
            entry["traceback"] = "".join(traceback.format_tb(tb))
        return json.dumps(entry, default=str)


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Below WARNING, libraries log what passes through them: the Kafka client the raw records
    # it fetches, aiosmtpd (the development SMTP sink) each recipient and every line of mail.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
