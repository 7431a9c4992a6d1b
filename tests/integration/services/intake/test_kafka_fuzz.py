"""Hundreds of generated records, garbage and good, through a real broker into intake's
running consumer: it keeps going, accepts every good event once, sets every bad one
aside with a reason, and commits its offsets to the end of the topic."""

from __future__ import annotations

import dataclasses
import json
import time

import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from services.intake.adapters.tables import contribution_outcomes, contributions
from services.intake.bootstrap import INBOUND_TOPICS
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    DECISIONS_TOPIC,
    SUBMISSIONS_TOPIC,
    dlq_topic,
)
from tests.support import factories, strategies
from tests.support.running import start_consumer, start_relay
from tests.support.strategies import PERSONAL_MARK

SCENE = strategies.TWO_COUNCILS
GROUP = "intake-fuzz"
DLQ = dlq_topic(SUBMISSIONS_TOPIC)
FORGED_TYPES = factories.FORGEABLE_OUTCOME_TYPES


# Records that once stopped a consumer or blocked its outbox, sent whatever is drawn.
HOSTILE = [
    strategies.Record(b"x" * 900_000, "raw: too big to announce with its sealed original"),
    strategies.Record(b'{"data":' * 600 + b"{}" + b"}" * 600, "raw: nested deep enough to overflow a recursive walk"),
    strategies.Record(b'{"id": ' + b"9" * 5_000 + b"}", "raw: an integer too long to convert"),
]


def generated_records() -> list[strategies.Record]:
    """About 300 records, the same on every run, from batches drawn independently. Good
    events of a later batch that reuse an earlier one's (source, id) get a new id (its
    repeat within the batch too), so each is a new event; a bad record that names a good
    one's is left out, as the consumer rightly takes it for a repeat of that event."""
    records, taken = list(HOSTILE), set()
    for number, batch in enumerate(strategies.drawn(strategies.intake_batches(SCENE), 30)):
        renamed = {}
        for record in batch:
            if record.good and (record.identity in taken or record.identity in renamed):
                envelope = json.loads(record.value)
                envelope["id"] = renamed.setdefault(record.identity, f"{number}-{envelope['id']}"[:256])
                record = dataclasses.replace(record, value=events.dumps(envelope))
            records.append(record)
        taken |= {record.identity for record in records if record.good}
    return [record for record in records if record.good or record.identity not in taken]


def rows(platform, table) -> list:
    with platform.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def wait_until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def committed_offsets(bootstrap: str, partitions) -> dict[TopicPartition, int | None]:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    try:
        return {tp: reader.committed(tp) for tp in partitions}
    finally:
        reader.close(autocommit=False)


def test_generated_garbage_never_stops_the_consumer_nor_costs_a_good_event(intake, broker):
    SCENE.create_in(intake)
    records = generated_records()
    good = {record.identity for record in records if record.good}
    bad = [record for record in records if not record.good]
    ends = broker.produce(SUBMISSIONS_TOPIC, [record.value for record in records])

    consumer = start_consumer(intake, broker.bootstrap, [SUBMISSIONS_TOPIC], group=GROUP)
    relay = start_relay(intake, broker.bootstrap)
    try:
        wait_until(
            lambda: len(rows(intake, contributions)) == len(good) and len(rows(intake, dead_letters)) == len(bad)
        )
        announced = broker.wait_for_events(DLQ, len(bad), timeout=60)
        wait_until(lambda: committed_offsets(broker.bootstrap, ends) == ends, timeout=60)
        assert consumer.thread.is_alive() and consumer.crashed is None, f"the consumer stopped: {consumer.crashed!r}"
    finally:
        consumer.join()
        relay.join()
    assert consumer.crashed is None and relay.crashed is None

    accepted = rows(intake, contributions)
    assert sorted(row.submitted_by for row in accepted) == sorted(f"{source}#{event_id}" for source, event_id in good)
    letters = rows(intake, dead_letters)
    assert len(letters) == len(bad)
    assert all(letter.reason.strip() and PERSONAL_MARK not in letter.reason for letter in letters)
    assert len(announced) == len(bad)
    assert sorted(e["data"]["dead_letter_id"] for e in announced) == sorted(letter.id for letter in letters)
    assert PERSONAL_MARK not in json.dumps([e["data"]["reason"] for e in announced], ensure_ascii=False)


def test_internal_events_forged_on_the_submissions_topic_change_no_contribution_and_no_dashboard(
    intake, intake_api, council, engagement, broker
):
    """Issue 16 against a real broker: every other service's event type, published on
    intake.submissions about a received contribution (as its rightful service, and as the
    council's registered case system), and drawn forgeries, are dead letters; so is an
    outcome event on outcomes.decisions from anyone but decisions."""
    good = factories.submission_event(council.slug, factories.contribution_payload(engagement["id"]))
    broker.produce(SUBMISSIONS_TOPIC, [good])
    consumer = start_consumer(intake, broker.bootstrap, INBOUND_TOPICS, group=GROUP)
    relay = start_relay(intake, broker.bootstrap)
    try:
        wait_until(lambda: len(rows(intake, contributions)) == 1)
        [contribution] = rows(intake, contributions)
        dashboard = intake_api.get("/v1/reports/dashboard").json
        forged = [
            factories.outcome_event(event_type, council.slug, contribution.id, source=source)
            for event_type in FORGED_TYPES
            for source in (None, factories.CASE_SYSTEM_SOURCE)
        ]
        drawn = [json.loads(r.value) for r in strategies.drawn(strategies.forged_internal_events(SCENE), 20)]
        for envelope in drawn:  # about our contribution, for our council
            envelope.update(tenant=council.slug)
            if "contribution_id" in envelope["data"]:
                envelope["data"]["contribution_id"] = contribution.id
        broker.produce(SUBMISSIONS_TOPIC, forged + drawn)
        as_a_case_system = factories.outcome_event(
            CONTRIBUTION_LINKED, council.slug, contribution.id, source=factories.CASE_SYSTEM_SOURCE
        )
        broker.produce(DECISIONS_TOPIC, [as_a_case_system])
        expected = len(forged) + len(drawn) + 1

        wait_until(lambda: len(rows(intake, dead_letters)) == expected)
        broker.wait_for_events(DLQ, len(forged) + len(drawn), timeout=60)
        assert consumer.thread.is_alive() and consumer.crashed is None, f"the consumer stopped: {consumer.crashed!r}"
    finally:
        consumer.join()
        relay.join()

    [after] = rows(intake, contributions)
    assert after.status == "received"
    assert rows(intake, contribution_outcomes) == []
    assert intake_api.get("/v1/reports/dashboard").json == dashboard
    reasons = {letter.reason for letter in rows(intake, dead_letters)}
    assert reasons == {
        *(f"event type {t!r} is not accepted on {SUBMISSIONS_TOPIC}" for t in {e["type"] for e in forged + drawn}),
        f"{DECISIONS_TOPIC} accepts events only from urn:outcome-chain:decisions",
    }
