"""Whatever lands on intake.submissions, the consumer keeps going and loses no good event.

Hypothesis draws batches of garbage bytes, CloudEvents with one attribute wrong,
submissions that break one rule of the contribution, and good submissions, interleaved
across partitions and polls with one good event delivered twice, and hands them to
intake's real EventProcessor on real SQLite. Every example starts from a fresh copy of
one prepared database, so examples cannot see each other's contributions.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.intake.adapters.tables import contributions
from services.intake.bootstrap import bootstrap
from shared.infra import migrations
from shared.infra.settings import Settings
from shared.infra.tables import dead_letters, outbox, utcnow
from shared.messaging import events
from shared.messaging.consumer import Message
from shared.rules.constants import SUBMISSIONS_TOPIC
from tests.support import factories, strategies
from tests.support.strategies import PERSONAL_MARK, Record

SCENE = strategies.TWO_COUNCILS
PARTITIONS = 3
NOW = utcnow()  # one clock for every world: a submission without submitted_at gets it
KAFKA_MESSAGE_MAX = 1024 * 1024  # the producer's and the broker's default limit


@dataclass(frozen=True)
class Delivery:
    """Records as the consumer receives them: each on a partition, in polls."""

    records: tuple[Record, ...]
    partitions: tuple[int, ...]
    polls: int
    transaction_size: int

    def polled(self) -> list[list[Message]]:
        """Each poll returns its records grouped by partition, as ConsumerLoop flattens them."""
        offsets = Counter()
        messages: list[tuple[Message, Record]] = []
        for record, partition in zip(self.records, self.partitions, strict=True):
            messages.append((Message(SUBMISSIONS_TOPIC, partition, offsets[partition], None, record.value), record))
            offsets[partition] += 1
        size = -(-len(messages) // self.polls)
        polls = [messages[start : start + size] for start in range(0, len(messages), size)]
        return [[m for m, _ in sorted(poll, key=lambda pair: pair[0].partition)] for poll in polls]

    def positions(self) -> dict[tuple[int, int], Record]:
        offsets = Counter()
        found = {}
        for record, partition in zip(self.records, self.partitions, strict=True):
            found[(partition, offsets[partition])] = record
            offsets[partition] += 1
        return found


@st.composite
def deliveries(draw, records: st.SearchStrategy[list[Record]]) -> Delivery:
    drawn = draw(records)
    return Delivery(
        records=tuple(drawn),
        partitions=tuple(draw(st.lists(st.integers(0, PARTITIONS - 1), min_size=len(drawn), max_size=len(drawn)))),
        polls=draw(st.integers(1, 3)),
        transaction_size=draw(st.integers(1, 10)),
    )


def reordered(delivery: Delivery, rng: random.Random) -> Delivery:
    """The same records in another order, on other partitions, in other polls."""
    records = list(delivery.records)
    rng.shuffle(records)
    return Delivery(
        records=tuple(records),
        partitions=tuple(rng.randrange(PARTITIONS) for _ in records),
        polls=rng.randint(1, 3),
        transaction_size=rng.randint(1, 10),
    )


# The prepared database, and a fresh copy of it for every example -----------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Settings:
    """Two councils, each with engagements and a known participant, ids as in SCENE."""
    directory = tmp_path_factory.mktemp("intake-template")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OUTCOMES_VAR_DIR", str(directory / "var"))
        env.setenv("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
        env.setenv("AUTH_DATABASE_URL", f"sqlite:///{directory / 'auth.db'}")
        env.setenv("INTAKE_DATABASE_URL", f"sqlite:///{directory / 'intake.db'}")
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        prepared = Settings.from_env(env_file=None)
    migrations.upgrade_auth(prepared.auth_database_url)
    migrations.upgrade_service("intake", prepared.database_url("intake"))
    platform = bootstrap(prepared)
    SCENE.create_in(platform)
    platform.engine.dispose()
    platform.keys.engine.dispose()
    return prepared


@contextmanager
def fresh_intake(template: Settings):
    """Intake on its own copy of the prepared databases."""
    directory = Path(template.var_dir).parent / f"world-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    urls = {}
    for name, url in (("intake", template.database_url("intake")), ("auth", template.auth_database_url)):
        original = Path(sa.engine.make_url(url).database)
        shutil.copy(original, directory / original.name)
        urls[name] = f"sqlite:///{directory / original.name}"
    platform = bootstrap(
        dataclasses.replace(
            template,
            database_urls={**template.database_urls, "intake": urls["intake"]},
            auth_database_url=urls["auth"],
        ),
        clock=lambda: NOW,
    )
    try:
        yield platform
    finally:
        platform.engine.dispose()
        platform.keys.engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def deliver(platform, delivery: Delivery) -> None:
    platform.processor.transaction_size = delivery.transaction_size
    for poll in delivery.polled():
        platform.processor.process(poll)


# What a council would see ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    contributions: dict[str, tuple]  # by who sent it ("<source>#<id>")
    references: dict[str, list[str]]  # per council, sorted
    dead_letters: dict[tuple[int, int], list[str]]  # reasons, by (partition, offset)
    announced: list[bytes]  # every outbox payload

    def comparable(self) -> tuple:
        """What must not depend on the order of arrival."""
        return (
            self.contributions,
            self.references,
            sorted(reason for reasons in self.dead_letters.values() for reason in reasons),
        )


def outcome(platform) -> Outcome:
    with platform.engine.connect() as connection:
        rows = connection.execute(sa.select(contributions)).all()
        letters = connection.execute(sa.select(dead_letters)).all()
        announced = list(connection.execute(sa.select(outbox.c.payload).order_by(outbox.c.id)).scalars())
    references = defaultdict(list)
    for row in rows:
        references[row.tenant].append(row.reference)
    found = defaultdict(list)
    for letter in letters:
        assert letter.topic == SUBMISSIONS_TOPIC
        found[(letter.partition, letter.offset)].append(letter.reason)
    return Outcome(
        contributions={
            row.submitted_by: (
                row.tenant,
                row.engagement_id,
                row.type,
                row.channel,
                row.on_behalf_of,
                row.submitted_at,
                row.status,
            )
            for row in rows
        },
        references={tenant: sorted(refs) for tenant, refs in references.items()},
        dead_letters=dict(found),
        announced=[bytes(payload) for payload in announced],
    )


def check(delivery: Delivery, seen: Outcome) -> None:
    good = {record.identity for record in delivery.records if record.good}
    assert set(seen.contributions) == {f"{source}#{event_id}" for source, event_id in good}
    assert sum(len(refs) for refs in seen.references.values()) == len(good), "one contribution per good event"

    for position, record in delivery.positions().items():
        reasons = seen.dead_letters.get(position, [])
        if record.good:
            assert reasons == [], f"a good record ({record.label}) was dead-lettered: {reasons}"
            continue
        assert len(reasons) == 1, f"{record.label}: {len(reasons)} dead letters"
        [reason] = reasons
        assert reason.strip(), f"{record.label}: empty reason"
        assert PERSONAL_MARK not in reason, f"{record.label}: reason repeats personal text: {reason}"
        for personal in record.personal:
            assert personal not in reason, f"{record.label}: reason repeats personal data: {reason}"

    for payload in seen.announced:
        assert PERSONAL_MARK.encode() not in payload, "personal text on a topic in the clear"
        assert len(payload) < KAFKA_MESSAGE_MAX, "an announcement too big for Kafka would block the outbox"


# Regressions: inputs that once crashed the consumer or leaked what a person wrote --------

GOOD = factories.submission_event(
    SCENE.council, factories.contribution_payload(SCENE.engagements[0], text="«Please open on Saturdays.»")
)
GOOD_RECORD = Record(events.dumps(GOOD), "good submission", good=True)
DEEP_EXTENSION = Record(
    events.dumps({**GOOD, "id": "deep-extension", "trace": strategies.nested(600)}),
    "good submission with an extension nested 600 deep",
    good=True,
)
REGRESSIONS = [
    # A dict 600 deep decodes, then overflowed the stack of the storability check.
    [Record(b'{"data":' * 600 + b"{}" + b"}" * 600, "raw: nested dicts"), GOOD_RECORD],
    [DEEP_EXTENSION, GOOD_RECORD],
    # json.loads raises a plain ValueError for an integer of more than 4,300 digits.
    [Record(b'{"id": ' + b"9" * 5_000 + b"}", "raw: long integer"), GOOD_RECORD],
    # Marshmallow names an unknown field, or an unknown key of a mapping, by the key itself.
    [
        Record(
            events.dumps({**GOOD, "id": "key", "data": {**GOOD["data"], "«Ann Example, 12 Elm Road»": 1}}),
            "data: unknown field named by the sender",
            personal=("«Ann Example, 12 Elm Road»",),
        ),
        GOOD_RECORD,
    ],
    # A dead-lettered record of 800 KB made a DLQ announcement over Kafka's 1 MiB limit.
    [Record(b"x" * 800_000, "raw: huge garbage"), GOOD_RECORD],
]


def regression(records: list[Record]) -> Delivery:
    return Delivery(tuple(records), partitions=(0,) * len(records), polls=1, transaction_size=100)


def pinned(test):
    for records in REGRESSIONS:
        test = example(delivery=regression(records), order=random.Random(0))(test)
    return test


@settings(
    max_examples=int(os.environ.get("OUTCOMES_FUZZ_EXAMPLES") or 50),  # `make fuzz` asks for many more
    deadline=None,
    derandomize=True,  # CI reproduces exactly what a developer saw
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(delivery=deliveries(strategies.intake_batches(SCENE)), order=st.randoms(use_true_random=False))
@pinned
def test_every_good_event_becomes_one_contribution_and_every_bad_one_one_dead_letter(template, delivery, order):
    with fresh_intake(template) as intake:
        deliver(intake, delivery)  # never raises: nothing here is a database failure
        first = outcome(intake)
        check(delivery, first)

        deliver(intake, delivery)  # redelivered whole, as after a crash before the offset commit
        assert outcome(intake) == first, "a redelivery changed something"

    with fresh_intake(template) as intake:
        deliver(intake, reordered(delivery, order))
        assert outcome(intake).comparable() == first.comparable(), "the order of arrival changed the outcome"
