"""The CloudEvents 1.0 envelope (structured JSON mode) with the `tenant` extension."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from shared.http.schemas import moment
from shared.infra.logging import redact
from shared.rules.constants import CLOUDEVENTS_CONTENT_TYPE

# Attributes are stored and indexed: no control characters (NUL breaks PostgreSQL text).
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Must not contain control characters.")
TENANT_SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$", error="Not a valid tenant slug.")


class RejectedEvent(Exception):
    """An event that can never be accepted as it is: it goes to the dead-letter queue.

    `reason` is shown to staff and travels on the DLQ topic, so it must name fields
    and rules, never echo the values a person typed.
    """

    def __init__(self, reason: str, tenant: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.tenant = tenant


def refuse_other_tenant(known_tenant: str | None, envelope: dict, what: str) -> None:
    """Refuse an event about a `what` we already hold for another tenant (None: not held yet)."""
    if known_tenant is not None and known_tenant != envelope["tenant"]:
        raise RejectedEvent(f"tenant does not match the {what} it refers to", envelope["tenant"])


class CloudEventSchema(Schema):
    """Envelope attributes; extension attributes beyond `tenant` pass through."""

    class Meta:
        unknown = INCLUDE

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.String(required=True, validate=[validate.Length(min=1, max=256), PRINTABLE])
    source = fields.String(required=True, validate=[validate.Length(min=1, max=1024), PRINTABLE])
    type = fields.String(required=True, validate=[validate.Length(min=1, max=256), PRINTABLE])
    tenant = fields.String(required=True, validate=TENANT_SLUG)
    time = moment(load_default=None, format="iso")
    subject = fields.String(load_default=None, validate=[validate.Length(max=256), PRINTABLE])
    datacontenttype = fields.String(load_default="application/json", validate=[validate.Length(max=100), PRINTABLE])
    data = fields.Dict(required=True)


_envelope_schema = CloudEventSchema()


# What a field of ours is called; a key the sender chose (an unknown field, a key of a
# mapping) may be anything they typed, a person's name or address among them.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
SENDERS_KEY = "<key>"


def flatten_errors(messages: Any, prefix: str = "", *, mask_keys: bool = False) -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"participant.email": ["..."]}.

    With `mask_keys`, a key that does not look like a field name is named `<key>`.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for field_name, inner in messages.items():
            if isinstance(field_name, int):  # marshmallow's position in a list
                name = f"{prefix}[{field_name}]"
            else:
                if mask_keys and field_name != "_schema" and not _FIELD_NAME.fullmatch(str(field_name)):
                    field_name = SENDERS_KEY
                name = f"{prefix}.{field_name}" if prefix else str(field_name)
            if field_name == "_schema":
                name = prefix or "_schema"
            for key, value in flatten_errors(inner, name, mask_keys=mask_keys).items():
                flat.setdefault(key, []).extend(value)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for index, inner in enumerate(messages):
            flat.update(flatten_errors(inner, f"{prefix}[{index}]", mask_keys=mask_keys))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def describe_errors(messages: Any) -> str:
    """Errors as one line for a dead letter's reason: staff read it and it travels on a
    topic, so keys the sender chose are masked (see `flatten_errors`)."""
    flat = flatten_errors(messages, mask_keys=True)
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in flat.items())


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(document: Any) -> bool:
    """True if any string (or key) holds NUL or an unpaired surrogate: JSON allows both,
    but no database column or UTF-8 topic payload can keep them.

    Walks without recursion: the JSON decoder accepts nesting about as deep as Python's
    stack, so a recursive walk of what it returns could overflow it."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item) is not None:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


# What a dead letter keeps of the sender's envelope, shown to staff, printed by the CLI and
# logged: an attribute only if it is shaped like one (a dotted lower-case event type, a
# URI without user information, an id of plain characters), and holds nothing shaped like
# an email address or phone number; otherwise a note saying why it is not shown. A sender
# may put anything in these, a person's name and address among them.
_ATTRIBUTE_SHAPES = {
    "type": (re.compile(r"[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+"), 256, "not a valid event type"),
    "source": (
        re.compile(r"(?:[a-z][a-z0-9+.-]*:|/)[A-Za-z0-9._~:/?#\[\]!$&'()*+,;=%-]*"),
        1024,
        "not a valid source URI",
    ),
    "id": (re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*"), 256, "not a valid event id"),
}


def shown_attribute(name: str, value: Any) -> str | None:
    """`value` of the envelope attribute `name` (type, source, id) if it is safe to keep and
    show, else "(not shown: not a valid event type)" and the like; None if there is none."""
    if value is None:
        return None
    pattern, longest, why = _ATTRIBUTE_SHAPES[name]
    if isinstance(value, str) and len(value) <= longest and pattern.fullmatch(value) and redact(value) == value:
        return value
    return f"(not shown: {why})"


def _valid_tenant(value: Any) -> str | None:
    """The tenant of a refused event, only if it is a real slug: never a stray value in clear."""
    try:
        TENANT_SLUG(value)
    except (ValidationError, TypeError):
        return None
    return value


def parse(raw: bytes | str) -> dict:
    """Bytes from a topic -> a validated envelope; RejectedEvent says why not."""
    try:
        # UTF-8 only, as the contract says: json.loads would guess UTF-16 or UTF-32 from
        # bytes and skip a byte order mark. A BOM left in the text is refused by json.loads.
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        document = json.loads(text)
    # ValueError also covers UnicodeDecodeError and an integer of more digits than Python
    # converts (4,300).
    except (ValueError, RecursionError):
        raise RejectedEvent("not JSON: the message body could not be decoded as UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise RejectedEvent("not a CloudEvent: the message body is not a JSON object")
    # JSON decoded from UTF-8 holds NUL or a lone surrogate only as a \u escape (json.loads
    # refuses a raw control character, and UTF-8 has no surrogates): without one, no walk.
    if (not isinstance(raw, bytes) or "\\u" in text) and unstorable_text(document):
        raise RejectedEvent("not storable: a string holds NUL or an unpaired surrogate")
    try:
        return _envelope_schema.load(document)
    except ValidationError as exc:
        raise RejectedEvent(
            f"not a CloudEvent: {describe_errors(exc.messages)}", _valid_tenant(document.get("tenant"))
        ) from None


def make(
    *,
    type: str,
    source: str,
    tenant: str,
    data: dict,
    subject: str | None = None,
    id: str | None = None,
    time: dt.datetime | None = None,
) -> dict:
    envelope = {
        "specversion": "1.0",
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "tenant": tenant,
        "time": (time or dt.datetime.now(dt.UTC)).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        envelope["subject"] = subject
    return envelope


def _default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(envelope: dict) -> bytes:
    return json.dumps(envelope, default=_default, separators=(",", ":"), ensure_ascii=False).encode()


KAFKA_HEADERS = [("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())]
