"""Hypothesis strategies for what may arrive on `intake.submissions`.

Each strategy draws a `Record`: the bytes a case system (or anything else with access
to the topic) publishes, and what intake must do with them: accept a good submission
once, set anything else aside as one dead letter. Records are built from the factories
and changed in one way at a time, so a failing example says which change broke what.

Personal free text is drawn between « and » so that an echo of it anywhere it must not
be (a dead letter's reason, a topic) is unmistakable.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.intake.domain import model
from services.intake.entrypoints.schemas import EQUALITY_QUESTIONS, EngagementSchema
from shared.messaging import events
from shared.rules.constants import (
    CONTACT_CHANNELS,
    CONTRIBUTION_CHANNELS,
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTION_TEXT_MAX,
    CONTRIBUTION_TYPES,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    MESSAGE_FORMATS,
    NOTIFICATION_DELIVERED,
    OUTCOME_RATED,
    RESOURCE_CHANGED,
    TOPIC_EVENT_TYPES,
    service_source,
)
from tests.support import factories

PERSONAL_MARK = "«"


@dataclass(frozen=True)
class Scene:
    """The councils, engagements and participants records may refer to; a test creates
    them (with these ids) before it sends anything."""

    council: str
    engagements: tuple[str, ...]
    participant: str
    other_council: str
    other_engagement: str
    other_participant: str

    def engagements_of(self, tenant: str) -> tuple[str, ...]:
        return self.engagements if tenant == self.council else (self.other_engagement,)

    def participant_of(self, tenant: str) -> str:
        return self.participant if tenant == self.council else self.other_participant

    def create_in(self, intake) -> None:
        """Onboard both councils into intake's platform, with their case systems' sources,
        these engagements and these participants."""
        now = intake.clock()
        for tenant in (self.council, self.other_council):
            intake.keys.create_tenant(tenant, f"{tenant.title()} Council")
            for source in REGISTERED_SOURCES:
                intake.keys.add_source(tenant, source)
            with intake.uow() as uow:
                for engagement_id in self.engagements_of(tenant):
                    details = EngagementSchema().load(factories.engagement_payload())
                    uow.engagements.add(model.Engagement(id=engagement_id, tenant=tenant, created_at=now, **details))
                participant = model.Participant(
                    id=self.participant_of(tenant),
                    tenant=tenant,
                    preferred_channel="email",
                    language="en",
                    format="standard",
                    consent_to_contact=True,
                    contact=model.Contact(email=factories.participant_payload()["email"]),
                    created_at=now,
                )
                uow.participants.add(participant, uow.participants.seal_contact(participant))
                uow.commit()


# Two councils, for the intake consumer's property tests (unit, on SQLite) and its fuzzing
# over the real broker (integration): the ids each test creates before sending anything.
TWO_COUNCILS = Scene(
    council="wiltshire",
    engagements=("6f1c1c59-8b1e-4c4e-9a55-000000000001", "6f1c1c59-8b1e-4c4e-9a55-000000000002"),
    participant="6f1c1c59-8b1e-4c4e-9a55-000000000003",
    other_council="dorset",
    other_engagement="6f1c1c59-8b1e-4c4e-9a55-000000000004",
    other_participant="6f1c1c59-8b1e-4c4e-9a55-000000000005",
)


@dataclass(frozen=True)
class Record:
    """One record's value, and what the consumer must make of it."""

    value: bytes
    label: str  # which kind of input, for a failing example's message
    good: bool = False  # a valid submission: exactly one contribution
    personal: tuple[str, ...] = ()  # what identifies a person: no reason may repeat it

    @property
    def identity(self) -> tuple[str, str] | None:
        """(source, id) if the record names them, whether it is good or not."""
        try:
            document = json.loads(self.value)
        except (ValueError, RecursionError):
            return None
        if (
            isinstance(document, dict)
            and isinstance(document.get("source"), str)
            and isinstance(document.get("id"), str)
        ):
            return document["source"], document["id"]
        return None


# Text ---------------------------------------------------------------------------------


def storable_text(min_size: int = 0, max_size: int = 50) -> st.SearchStrategy[str]:
    """Any text a database keeps: everything but NUL and unpaired surrogates."""
    return st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=min_size, max_size=max_size
    )


def printable_text(min_size: int = 1, max_size: int = 50) -> st.SearchStrategy[str]:
    """Text fit for an event attribute: no control characters either."""
    return st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=min_size, max_size=max_size)


def personal_text(max_size: int) -> st.SearchStrategy[str]:
    """Words a person wrote, or their name: marked, not blank, at most `max_size` long."""
    return printable_text(1, max_size - 2).map(lambda s: f"{PERSONAL_MARK}{s}»")


emails = st.from_regex(r"[a-z][a-z0-9]{0,15}(\.[a-z0-9]{1,8})?@[a-z]{2,12}\.example\.org", fullmatch=True)
# UK mobiles (07xxx ranges libphonenumber knows as mobiles; 070, 076 and 0791x are not).
phones = st.from_regex(r"\+44 7(?:[458][0-9]|9[2-9])[0-9] [0-9]{6}", fullmatch=True)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | storable_text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(storable_text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def nested(depth: int, innermost: object = 0) -> object:
    """A value nested `depth` lists deep."""
    value = innermost
    for _ in range(depth):
        value = [value]
    return value


# Encodings: how a well-formed document may be written ------------------------------


def _compact(document: dict) -> bytes:
    return events.dumps(document)


def _ascii_escaped(document: dict) -> bytes:
    return json.dumps(document).encode()


def _pretty_sorted(document: dict) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode()


encodings = st.sampled_from([_compact, _ascii_escaped, _pretty_sorted])


# (d) Good submissions -----------------------------------------------------------------

event_ids = st.one_of(
    st.uuids().map(str),
    printable_text(1, 256),
    st.just("i" * 256),
)
# The sources both councils register for their case systems (Scene.create_in): a good
# submission comes from one of them; any other source is refused.
REGISTERED_SOURCES = (
    factories.CASE_SYSTEM_SOURCE,
    "https://case.children.example.gov.uk/mosaic/v2",
    "urn:case-system:liquidlogic",
    "s" * 1024,  # the longest a source may be
)
event_sources = st.sampled_from(REGISTERED_SOURCES)
unregistered_sources = st.one_of(
    st.from_regex(r"https://case\.[a-z]{1,12}\.example\.gov\.uk(/[a-z0-9-]{1,20}){0,3}", fullmatch=True),
    st.from_regex(r"urn:case-system:[a-z0-9]{1,20}", fullmatch=True),
    printable_text(1, 1024),
    st.sampled_from([service_source(service) for service in ("intake", "decisions", "notifier")]),
).filter(lambda source: source not in REGISTERED_SOURCES)
_RESERVED = {"specversion", "id", "source", "type", "tenant", "time", "subject", "datacontenttype", "data"}
extension_names = st.from_regex(r"[a-z][a-z0-9]{0,19}", fullmatch=True).filter(lambda name: name not in _RESERVED)
# Extension attributes pass through untouched, however odd (a list 400 deep once overflowed the stack).
extension_values = json_values | st.integers(100, 400).map(nested)
fixed_offsets = st.integers(-12 * 60, 14 * 60).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
aware_datetimes = st.datetimes(
    min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2025, 1, 1), timezones=fixed_offsets
)


@st.composite
def good_participants(draw) -> dict:
    """A participant as a case system describes one, reachable as they chose."""
    channel = draw(st.sampled_from(CONTACT_CHANNELS))
    consent = draw(st.booleans())
    email = draw(emails) if channel == "email" and consent else draw(st.none() | emails)
    phone = draw(phones) if channel == "sms" and consent else draw(st.none() | phones)
    participant = factories.participant_payload(
        name=draw(st.none() | personal_text(200)),
        email=email,
        phone=phone,
        preferred_channel=channel,
        consent_to_contact=consent,
        language=draw(st.sampled_from(["en", "cy", "pl", "gd", "pt-BR", "zh-Hant"])),
        format=draw(st.sampled_from(MESSAGE_FORMATS)),
    )
    if channel == "post" and consent or draw(st.booleans()):
        participant.update(factories.postal_address())
    external_ref = draw(st.none() | st.sampled_from(["«case-4711»", "«case-4712»"]))
    if external_ref:
        participant["external_ref"] = external_ref
    equality = draw(st.dictionaries(st.sampled_from(EQUALITY_QUESTIONS), personal_text(100), max_size=3))
    if equality:
        participant["equality"] = equality
    return participant


@st.composite
def good_contributions(draw, scene: Scene, tenant: str) -> dict:
    overrides = {
        "type": draw(st.sampled_from(CONTRIBUTION_TYPES)),
        "channel": draw(st.sampled_from(CONTRIBUTION_CHANNELS)),
        "text": draw(personal_text(400) | st.just("«" + "w" * (CONTRIBUTION_TEXT_MAX - 2) + "»")),
    }
    if draw(st.booleans()):
        overrides["on_behalf_of"] = draw(st.integers(1, 1_000_000))
    if draw(st.booleans()):
        overrides["submitted_at"] = draw(aware_datetimes).isoformat()
    data = factories.contribution_payload(draw(st.sampled_from(scene.engagements_of(tenant))), **overrides)
    if draw(st.integers(0, 4)) == 0:  # someone intake knows already
        del data["participant"]
        data["participant_id"] = scene.participant_of(tenant)
    else:
        data["participant"] = draw(good_participants())
    return data


@st.composite
def good_envelopes(draw, scene: Scene) -> dict:
    tenant = draw(st.sampled_from([scene.council, scene.other_council]))
    envelope = factories.submission_event(
        tenant, draw(good_contributions(scene, tenant)), id=draw(event_ids), source=draw(event_sources)
    )
    envelope.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "time": aware_datetimes.map(dt.datetime.isoformat),
                    "subject": st.none() | printable_text(0, 100),
                    "datacontenttype": st.sampled_from(["application/json", "application/json; charset=utf-8"]),
                },
            )
        )
    )
    if draw(st.booleans()):  # optional in CloudEvents
        del envelope["time"]
    envelope.update(draw(st.dictionaries(extension_names, extension_values, max_size=2)))
    return envelope


def personal_of(envelope: dict) -> tuple[str, ...]:
    """What in a submission identifies a person, as far as it is text."""
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    participant = data.get("participant") if isinstance(data.get("participant"), dict) else {}
    found = [data.get("text")] + [participant.get(key) for key in ("name", "email", "phone", "external_ref")]
    equality = participant.get("equality")
    if isinstance(equality, dict):
        found += list(equality.values())
    return tuple(value for value in found if isinstance(value, str) and len(value) >= 6)


@st.composite
def good_submissions(draw, scene: Scene) -> Record:
    envelope = draw(good_envelopes(scene))
    return Record(draw(encodings)(envelope), "good submission", good=True, personal=personal_of(envelope))


# (a) Raw bytes ------------------------------------------------------------------------


def _deep(kind: str, depth: int) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"data":' * depth + b"{}" + b"}" * depth


raw_values = st.one_of(
    st.just((b"", "empty")),
    st.binary(max_size=64).map(lambda b: (b, "binary")),
    st.binary(max_size=64).map(lambda b: (b"\xff\xfe" + b, "invalid UTF-8")),
    st.binary(max_size=64).map(lambda b: (b'{"specversion": "1.0", "id": "\xc3' + b, "truncated UTF-8")),
    st.integers(100_000, 1_000_000).map(lambda n: (b'{"specversion":"1.0","pad":"' + b"x" * n + b'"}', "huge object")),
    st.integers(100_000, 1_000_000).map(lambda n: (b"x" * n, "huge garbage")),
    st.tuples(st.sampled_from(["list", "dict"]), st.integers(50, 5_000)).map(
        lambda kd: (_deep(*kd), f"nested {kd[1]} deep")
    ),
    st.integers(4_301, 6_000).map(lambda n: (b'{"id": ' + b"9" * n + b"}", "integer too long to convert")),
    st.sampled_from([b"NaN", b"[Infinity]", b"null", b"true", b'"1.0"', b"{", b"}{"]).map(
        lambda b: (b, "JSON fragment")
    ),
    json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: (json.dumps(v).encode(), "JSON, not an object")
    ),
    st.dictionaries(storable_text(max_size=12), json_values, max_size=5).map(
        lambda d: (json.dumps(d).encode(), "JSON object, not a CloudEvent")
    ),
)


def raw_records() -> st.SearchStrategy[Record]:
    return raw_values.map(lambda value_label: Record(value_label[0], f"raw bytes: {value_label[1]}"))


# (b) CloudEvents with one attribute wrong ---------------------------------------------

_MISSING = object()


def _not_a_string() -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.lists(st.integers(), max_size=2),
        st.just({}),
    )


def _with_control_character(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    controls = st.sampled_from(["\x01", "\x1b", "\n", "\t", "\x7f", "\x1f"])
    return st.tuples(base, controls, base).map(lambda parts: "".join(parts))


def _unknown_tenants(scene: Scene) -> st.SearchStrategy[str]:
    slugs = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
    return slugs.filter(lambda slug: slug not in (scene.council, scene.other_council))


def _bad_attribute_values(scene: Scene) -> st.SearchStrategy[tuple[str, object, str]]:
    """(attribute, value or _MISSING, what is wrong)."""

    def attribute(name: str, values: st.SearchStrategy, why: str) -> st.SearchStrategy:
        return values.map(lambda value: (name, value, why))

    missing = st.just(_MISSING)
    return st.one_of(
        *(attribute(name, missing, "missing") for name in ("specversion", "id", "source", "type", "tenant", "data")),
        attribute("specversion", st.sampled_from(["0.3", "2.0", "1", "1.0 ", "", 1.0, 1]), "unknown specversion"),
        attribute("specversion", _not_a_string(), "wrong type"),
        attribute("id", st.just(""), "empty"),
        attribute("id", printable_text(257, 300), "too long"),
        attribute("id", _with_control_character(printable_text(0, 10)), "control character"),
        attribute("id", _not_a_string(), "wrong type"),
        attribute("source", st.just(""), "empty"),
        attribute("source", printable_text(1025, 1100), "too long"),
        attribute("source", _with_control_character(printable_text(0, 10)), "control character"),
        attribute("source", _not_a_string(), "wrong type"),
        attribute("source", unregistered_sources, "not registered by the council"),
        attribute("type", printable_text(1, 256).filter(lambda t: t != CONTRIBUTION_SUBMITTED), "unknown type"),
        attribute("type", st.sampled_from(["contribution.withdrawn", "Contribution.Submitted", ""]), "wrong type name"),
        attribute("type", printable_text(257, 300), "too long"),
        attribute("type", _not_a_string(), "wrong type"),
        attribute("tenant", _unknown_tenants(scene), "unknown tenant"),
        attribute("tenant", st.sampled_from(["Wiltshire", "wilt shire", "-dorset", "", "a" * 64]), "not a slug"),
        attribute("tenant", emails, "personal data, not a slug"),
        attribute("tenant", _not_a_string(), "wrong type"),
        attribute(
            "time",
            st.sampled_from(["yesterday", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", 1_700_000_000]),
            "not a time",
        ),
        attribute("subject", st.one_of(st.integers(), st.just(["x"]), st.just({})), "wrong type"),
        attribute("datacontenttype", st.one_of(st.integers(), st.booleans()), "wrong type"),
        attribute(
            "data",
            st.one_of(st.none(), st.lists(st.integers(), max_size=2), printable_text(0, 10), st.integers()),
            "not an object",
        ),
    )


@st.composite
def mutated_envelopes(draw, scene: Scene) -> Record:
    """A good submission with one attribute missing, of the wrong type, or out of range."""
    envelope = draw(good_envelopes(scene))
    name, value, why = draw(_bad_attribute_values(scene))
    if value is _MISSING:
        envelope.pop(name, None)
    else:
        envelope[name] = value
    personal = personal_of(envelope) + ((value,) if why.startswith("personal data") else ())
    return Record(draw(encodings)(envelope), f"envelope: {name} {why}", personal=personal)


@st.composite
def unstorable_envelopes(draw, scene: Scene) -> Record:
    """NUL or a lone surrogate in an attribute, an extension or the data: JSON escapes
    both (\\u0000, \\ud800), but no database column keeps them."""
    envelope = draw(good_envelopes(scene))
    poison = draw(st.sampled_from(["\x00", "\ud800", "\udfff", "\udc00x"]))
    where = draw(st.sampled_from(["id", "source", "type", "subject", "extension", "text", "name", "equality key"]))
    data = envelope["data"]
    if where in ("id", "source", "type", "subject"):
        envelope[where] = f"a{poison}b"
    elif where == "extension":
        envelope[draw(extension_names)] = [{"x": poison}]
    elif where == "text":
        data["text"] = f"«words {poison} more»"
    elif "participant" in data:
        if where == "name":
            data["participant"]["name"] = f"«Ann{poison}»"
        else:
            data["participant"]["equality"] = {f"age_band{poison}": "«30-39»"}
    else:
        data[f"note{poison}"] = "«x»"
    return Record(_ascii_escaped(envelope), f"not storable: {where}", personal=personal_of(envelope))


# (c) A valid envelope whose data breaks one of the contribution's rules ---------------


def _set(path: str, value: object):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for parent in parents:
            target = target.setdefault(parent, factories.participant_payload())
        if value is _MISSING:
            target.pop(last, None)
        else:
            target[last] = value

    return change


def _with_participant_id(participant_id: object, keep_participant: bool = False):
    def change(data: dict) -> None:
        data["participant_id"] = participant_id
        if not keep_participant:
            data.pop("participant", None)
        else:
            data.setdefault("participant", factories.participant_payload())

    return change


def _unknown_field(name: str):
    def change(data: dict) -> None:
        data[name] = "«x»"

    return change


def _unknown_participant_field(name: str):
    def change(data: dict) -> None:
        data.pop("participant_id", None)
        data["participant"] = {**factories.participant_payload(), name: "«x»"}

    return change


def _unreachable(channel: str):
    """Consented, but without the address the chosen channel needs."""

    def change(data: dict) -> None:
        data.pop("participant_id", None)
        data["participant"] = factories.participant_payload(
            preferred_channel=channel,
            consent_to_contact=True,
            **{{"email": "email", "sms": "phone"}.get(channel, "address_lines"): None},
        )

    return change


def _data_breakages(scene: Scene, tenant: str) -> st.SearchStrategy[tuple[str, object]]:
    """(which rule, a change that breaks it)."""
    other_tenant = scene.other_council if tenant == scene.council else scene.council
    now = dt.datetime.now(dt.UTC)

    def breakage(rule: str, changes: st.SearchStrategy) -> st.SearchStrategy:
        return changes.map(lambda change: (rule, change))

    def field(path: str, values: st.SearchStrategy, rule: str) -> st.SearchStrategy:
        return breakage(f"{path}: {rule}", values.map(lambda value: _set(path, value)))

    missing = st.just(_MISSING)
    return st.one_of(
        *(field(name, missing, "missing") for name in ("engagement_id", "type", "text", "channel")),
        field("engagement_id", st.sampled_from(["", "e" * 37, 42, None]), "malformed"),
        field("engagement_id", st.uuids().map(str), "unknown"),
        field("engagement_id", st.sampled_from(scene.engagements_of(other_tenant)), "another council's"),
        field("type", st.sampled_from(["opinion", "VIEW", "", ["view"], 1]), "not a type"),
        field("text", st.sampled_from(["", "   ", "\n\t ", 12, ["«words»"], None]), "blank or not text"),
        field("text", st.integers(1, 50).map(lambda n: "«" + "w" * (CONTRIBUTION_TEXT_MAX - 2 + n) + "»"), "too long"),
        field("channel", st.sampled_from(["pigeon", "", None, 3]), "not a channel"),
        field("on_behalf_of", st.sampled_from([0, -1, 1_000_001, 1.5, "2", None, 10**30]), "out of range"),
        field(
            "submitted_at",
            st.sampled_from(
                [
                    "yesterday",
                    "2024-01-01T10:00:00",
                    "1999-12-31T23:00:00+00:00",
                    "0001-01-01T00:00:00+01:00",
                    (now + dt.timedelta(days=2)).isoformat(),
                    "9999-12-31T23:59:59-01:00",
                    12,
                ]
            ),
            "not a past aware time",
        ),
        breakage("participant_id: unknown", st.uuids().map(str).map(_with_participant_id)),
        breakage(
            "participant_id: another council's", st.just(_with_participant_id(scene.participant_of(other_tenant)))
        ),
        breakage("participant_id: malformed", st.sampled_from(["", "p" * 37, 5]).map(_with_participant_id)),
        breakage(
            "participant_id: and participant both",
            st.just(_with_participant_id(scene.participant_of(tenant), keep_participant=True)),
        ),
        breakage(
            "participant: neither given",
            st.just(lambda data: [data.pop(k, None) for k in ("participant", "participant_id")]),
        ),
        field("participant", st.sampled_from(["«Ann Example»", [], 3]), "not an object"),
        field("participant.preferred_channel", st.sampled_from([_MISSING, "pigeon", None]), "invalid"),
        field("participant.consent_to_contact", st.sampled_from([_MISSING, "maybe", None, 2]), "invalid"),
        field("participant.email", st.sampled_from(["«not an email»", "«ann»@", "a@b"]), "not an email"),
        field("participant.email", st.integers(250, 300).map(lambda n: "a" * n + "@example.org"), "too long"),
        field(
            "participant.phone",
            st.sampled_from(["«call my daughter»", "123", "+44 7700 900 123 456 789 0"]),
            "not a phone",
        ),
        field("participant.language", st.sampled_from(["English", "e", "«Welsh please»", None]), "not a language"),
        field("participant.format", st.sampled_from(["braille", "", None]), "not a format"),
        field("participant.name", st.sampled_from(["", "   ", 7]), "blank or not text"),
        field("participant.name", st.integers(201, 250).map(lambda n: "«" + "N" * (n - 2) + "»"), "too long"),
        field("participant.external_ref", st.integers(101, 120).map(lambda n: "«" + "r" * (n - 2) + "»"), "too long"),
        field("participant.equality", personal_text(40).map(lambda key: {key: "«yes»"}), "unknown question"),
        field("participant.equality", st.just({"age_band": "«" + "a" * 100 + "»"}), "answer too long"),
        field(
            "participant.equality",
            st.sampled_from([{"disability": ""}, {"sex": 3}, {"carer": nested(300)}]),
            "answer not text",
        ),
        field("participant.equality", st.sampled_from(["«all of them»", ["age_band"]]), "not an object"),
        breakage("participant: consented to email without an address", st.just(_unreachable("email"))),
        breakage("participant: consented to sms without a phone", st.just(_unreachable("sms"))),
        breakage("participant: consented to post without an address", st.just(_unreachable("post"))),
        breakage("unknown field named by the sender", personal_text(40).map(_unknown_field)),
        breakage("unknown participant field named by the sender", emails.map(_unknown_participant_field)),
        breakage("empty", st.just(lambda data: data.clear())),
    )


# What the services announce to one another; none of it belongs on intake.submissions.
INTERNAL_TYPES = sorted(
    {event_type for carried in TOPIC_EVENT_TYPES.values() for event_type in carried} - {CONTRIBUTION_SUBMITTED}
)
_OUTCOME_SHAPED = {
    CONTRIBUTION_LINKED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    RESOURCE_CHANGED,
    CONTRIBUTION_FEEDBACK_OVERDUE,
    OUTCOME_RATED,
    NOTIFICATION_DELIVERED,
}


@st.composite
def forged_internal_events(draw, scene: Scene) -> Record:
    """Issue 16: another service's event, well formed, published on the case systems' topic,
    as that service, a registered case system or anyone else."""
    event_type = draw(st.sampled_from(INTERNAL_TYPES))
    tenant = draw(st.sampled_from([scene.council, scene.other_council]))
    about = draw(st.uuids().map(str))
    if event_type in _OUTCOME_SHAPED:
        envelope = factories.outcome_event(event_type, tenant, about)
    else:
        envelope = events.make(type=event_type, source=service_source("intake"), tenant=tenant, data={"id": about})
    envelope["source"] = draw(
        st.sampled_from([envelope["source"], *(service_source(s) for s in ("intake", "decisions", "notifier"))])
        | event_sources
    )
    return Record(draw(encodings)(envelope), f"forged: {event_type} on intake.submissions")


@st.composite
def invalid_submissions(draw, scene: Scene) -> Record:
    """A well-formed CloudEvent for a real council whose contribution breaks one rule."""
    envelope = draw(good_envelopes(scene))
    rule, change = draw(_data_breakages(scene, envelope["tenant"]))
    change(envelope["data"])
    return Record(draw(encodings)(envelope), f"data: {rule}", personal=personal_of(envelope))


# Batches ------------------------------------------------------------------------------


@st.composite
def intake_batches(draw, scene: Scene, *, max_good: int = 6) -> list[Record]:
    """Good records and every kind of bad one interleaved, and one good record delivered twice.

    Good records never share a (source, id); a bad one that names a good one's is left
    out, since the consumer rightly takes it for a repeat of that event."""
    good = draw(st.lists(good_submissions(scene), min_size=1, max_size=max_good, unique_by=lambda r: r.identity))
    bad = [
        *draw(st.lists(raw_records(), min_size=1, max_size=3)),
        *draw(st.lists(mutated_envelopes(scene), min_size=1, max_size=3)),
        *draw(st.lists(unstorable_envelopes(scene), max_size=2)),
        *draw(st.lists(invalid_submissions(scene), min_size=1, max_size=4)),
        *draw(st.lists(forged_internal_events(scene), max_size=2)),
    ]
    taken = {record.identity for record in good}
    records = draw(st.permutations(good + [record for record in bad if record.identity not in taken]))
    repeated = draw(st.sampled_from(good))
    if draw(st.booleans()):  # the same event, written out differently
        repeated = replace(repeated, value=_pretty_sorted(json.loads(repeated.value)), label="good submission, re-sent")
    records.insert(draw(st.integers(0, len(records))), repeated)
    return records


def drawn(strategy: st.SearchStrategy, examples: int) -> list:
    """`examples` values of the strategy, the same on every run (for a test that needs a
    fixed set of inputs up front, such as records to publish before a consumer starts)."""
    values = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value) -> None:
        values.append(value)

    collect()
    return values
