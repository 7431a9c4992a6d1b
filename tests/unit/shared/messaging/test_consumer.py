"""The idempotent consumer, with intake's real submission handler on SQLite."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from kafka import TopicPartition
from prometheus_client import REGISTRY

from services.intake.adapters.tables import contribution_outcomes, contributions, participants, reference_counters
from services.intake.entrypoints.schemas import EngagementSchema
from services.intake.service_layer import services
from shared.infra.tables import dead_letters, outbox
from shared.messaging import dead_letters as dead_letter_list
from shared.messaging import events
from shared.messaging.consumer import ConsumerLoop, EventProcessor, Message, routes
from shared.rules.constants import (
    CONSUMED_TOPICS,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTION_RECEIVED_STATUS,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTIONS_TOPIC,
    DEAD_LETTER_OPEN,
    DEAD_LETTER_REPLAYED,
    DEAD_LETTERED,
    DECISIONS_TOPIC,
    OUTCOME_RATED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    PARTICIPANTS_TOPIC,
    SOURCE_NOT_REGISTERED,
    SUBMISSIONS_TOPIC,
    TOPIC_EVENT_TYPES,
    TOPIC_PUBLISHERS,
    dlq_topic,
)
from shared.rules.domain import Conflict, InvalidInput, NotFound
from tests.support import factories


class Partition:
    """Hands out records of one partition of intake.submissions, offsets counting up."""

    def __init__(self):
        self._offsets = itertools.count()

    def record(self, value: dict | bytes) -> Message:
        payload = events.dumps(value) if isinstance(value, dict) else value
        return Message(topic=SUBMISSIONS_TOPIC, partition=0, offset=next(self._offsets), key=None, value=payload)


@pytest.fixture
def partition() -> Partition:
    return Partition()


def submission(tenant: str, engagement_id: str, **data_overrides) -> dict:
    return factories.submission_event(tenant, factories.contribution_payload(engagement_id, **data_overrides))


def rows(intake, table: sa.Table) -> list:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def outbox_events(intake, topic: str) -> list[dict]:
    with intake.engine.connect() as connection:
        payloads = connection.execute(
            sa.select(outbox.c.payload).where(outbox.c.topic == topic).order_by(outbox.c.id)
        ).scalars()
        return [json.loads(payload) for payload in payloads]


def raw_outbox(intake, topic: str) -> bytes:
    with intake.engine.connect() as connection:
        return b"".join(connection.execute(sa.select(outbox.c.payload).where(outbox.c.topic == topic)).scalars())


def only_dead_letter(intake):
    [dead_letter] = rows(intake, dead_letters)
    return dead_letter


class TestAccepting:
    def test_a_submission_becomes_one_contribution_and_one_announcement(self, intake, council, engagement, partition):
        event = submission(council.slug, engagement["id"])

        intake.processor.process([partition.record(event)])

        [contribution] = rows(intake, contributions)
        assert contribution.tenant == council.slug
        assert contribution.engagement_id == engagement["id"]
        assert contribution.submitted_by == f"{event['source']}#{event['id']}"
        [announced] = [e for e in outbox_events(intake, CONTRIBUTIONS_TOPIC) if e["type"] == CONTRIBUTION_RECEIVED]
        assert announced["data"]["id"] == contribution.id
        assert rows(intake, dead_letters) == []

    def test_the_same_event_twice_in_one_batch_counts_once(self, intake, council, engagement, partition):
        event = submission(council.slug, engagement["id"])

        intake.processor.process([partition.record(event), partition.record(event)])

        assert len(rows(intake, contributions)) == 1
        assert len(outbox_events(intake, CONTRIBUTIONS_TOPIC)) == 1

    def test_the_same_event_sent_again_later_counts_once(self, intake, council, engagement, partition):
        event = submission(council.slug, engagement["id"])

        intake.processor.process([partition.record(event)])
        intake.processor.process([partition.record(event)])

        assert len(rows(intake, contributions)) == 1
        assert len(outbox_events(intake, CONTRIBUTIONS_TOPIC)) == 1

    def test_a_record_redelivered_after_a_crash_counts_once(self, intake, council, engagement, partition):
        record = partition.record(submission(council.slug, engagement["id"]))

        intake.processor.process([record])
        intake.processor.process([record])

        assert len(rows(intake, contributions)) == 1

    def test_the_same_id_from_another_source_is_another_submission(self, intake, council, engagement, partition):
        first = submission(council.slug, engagement["id"])
        intake.keys.add_source(council.slug, "urn:case-system:children")
        second = {**submission(council.slug, engagement["id"]), "id": first["id"], "source": "urn:case-system:children"}

        intake.processor.process([partition.record(first), partition.record(second)])

        assert len(rows(intake, contributions)) == 2


def not_json(tenant, engagement_id) -> bytes:
    return b"engagement_id=" + engagement_id.encode()


def without_specversion(tenant, engagement_id) -> bytes:
    event = submission(tenant, engagement_id)
    del event["specversion"]
    return events.dumps(event)


def unknown_type(tenant, engagement_id) -> bytes:
    return events.dumps({**submission(tenant, engagement_id), "type": "contribution.withdrawn"})


def without_tenant(tenant, engagement_id) -> bytes:
    event = submission(tenant, engagement_id)
    del event["tenant"]
    return events.dumps(event)


def unknown_tenant(tenant, engagement_id) -> bytes:
    return events.dumps(submission("atlantis", engagement_id))


def invalid_data(tenant, engagement_id) -> bytes:
    return events.dumps(submission(tenant, engagement_id, type="opinion"))


def unknown_engagement(tenant, engagement_id) -> bytes:
    return events.dumps(submission(tenant, str(uuid.uuid4())))


BAD_EVENTS = [
    (not_json, ["not JSON"]),
    (without_specversion, ["not a CloudEvent", "specversion"]),
    (unknown_type, ["event type 'contribution.withdrawn' is not accepted on intake.submissions"]),
    (without_tenant, ["not a CloudEvent", "tenant"]),
    (unknown_tenant, ["unknown tenant"]),
    (invalid_data, ["invalid data", "type"]),
    (unknown_engagement, ["invalid data", "engagement_id", "Unknown engagement"]),
]


class TestDeadLettering:
    @pytest.mark.parametrize(("bad_event", "reason_mentions"), BAD_EVENTS, ids=[f.__name__ for f, _ in BAD_EVENTS])
    def test_a_bad_event_is_set_aside_with_its_reason_and_its_neighbours_are_kept(
        self, intake, council, engagement, partition, bad_event, reason_mentions
    ):
        batch = [
            partition.record(submission(council.slug, engagement["id"])),
            partition.record(bad_event(council.slug, engagement["id"])),
            partition.record(submission(council.slug, engagement["id"])),
        ]

        intake.processor.process(batch)

        assert len(rows(intake, contributions)) == 2
        dead_letter = only_dead_letter(intake)
        assert (dead_letter.topic, dead_letter.partition, dead_letter.offset) == (SUBMISSIONS_TOPIC, 0, 1)
        assert dead_letter.status == DEAD_LETTER_OPEN
        for words in reason_mentions:
            assert words in dead_letter.reason
        [announced] = outbox_events(intake, dlq_topic(SUBMISSIONS_TOPIC))
        assert announced["type"] == DEAD_LETTERED
        assert announced["data"]["dead_letter_id"] == dead_letter.id
        assert announced["data"]["reason"] == dead_letter.reason

    def test_a_dead_letter_is_filed_under_the_events_tenant(self, intake, council, engagement, partition):
        event = submission(council.slug, str(uuid.uuid4()))

        intake.processor.process([partition.record(event)])

        dead_letter = only_dead_letter(intake)
        assert dead_letter.tenant == council.slug
        assert (dead_letter.event_source, dead_letter.event_id) == (event["source"], event["id"])
        assert outbox_events(intake, dlq_topic(SUBMISSIONS_TOPIC))[0]["tenant"] == council.slug

    def test_the_original_is_kept_sealed_never_in_clear(self, intake, council, engagement, partition):
        record = partition.record(submission(council.slug, str(uuid.uuid4())))
        participant = json.loads(record.value)["data"]["participant"]

        intake.processor.process([record])

        dead_letter = only_dead_letter(intake)
        stored = " ".join(str(value) for value in dead_letter)
        on_topic = raw_outbox(intake, dlq_topic(SUBMISSIONS_TOPIC))
        for detail in (participant["email"], participant["name"], participant["phone"]):
            assert detail not in stored
            assert detail.encode() not in on_topic
        assert intake.sealer.open_bytes(dead_letter.sealed_payload) == record.value
        [announced] = outbox_events(intake, dlq_topic(SUBMISSIONS_TOPIC))
        assert intake.sealer.open_bytes(announced["data"]["sealed_original"]) == record.value

    def test_a_tenant_attribute_that_is_not_a_slug_is_not_kept_in_clear(self, intake, council, engagement, partition):
        participant = factories.participant_payload()
        event = {**submission(council.slug, engagement["id"]), "tenant": participant["email"]}

        intake.processor.process([partition.record(event)])

        stored = " ".join(str(value) for value in only_dead_letter(intake))
        assert participant["email"] not in stored
        assert participant["email"].encode() not in raw_outbox(intake, dlq_topic(SUBMISSIONS_TOPIC))

    def test_a_dead_lettered_record_redelivered_is_set_aside_once(self, intake, council, engagement, partition):
        record = partition.record(unknown_engagement(council.slug, engagement["id"]))

        intake.processor.process([record])
        intake.processor.process([record])

        assert len(rows(intake, dead_letters)) == 1
        assert len(outbox_events(intake, dlq_topic(SUBMISSIONS_TOPIC))) == 1


def engagement_of_tenant_not_yet_onboarded(intake, tenant: str):
    """Staff set the engagement up, but the tenant is missing from the key store."""
    data = EngagementSchema().load(factories.engagement_payload())
    return services.create_engagement(intake.uow(), tenant, data, now=intake.clock(), source=intake.source)


class TestReplay:
    def test_replay_after_the_tenant_is_created_accepts_the_event(self, intake, partition):
        engagement = engagement_of_tenant_not_yet_onboarded(intake, "kent")
        intake.processor.process([partition.record(submission("kent", engagement.id))])
        dead_letter = only_dead_letter(intake)
        assert dead_letter.reason == "unknown tenant"

        intake.keys.create_tenant("kent", "Kent County Council")
        intake.keys.add_source("kent", factories.CASE_SYSTEM_SOURCE)
        outcome = intake.processor.replay(dead_letter.id, tenant="kent")

        assert outcome == "accepted"
        [contribution] = rows(intake, contributions)
        assert contribution.tenant == "kent"
        replayed = only_dead_letter(intake)
        assert replayed.status == DEAD_LETTER_REPLAYED
        assert replayed.replayed_at is not None
        assert replayed.replay_count == 1

    def test_a_replayed_dead_letter_cannot_be_replayed_again(self, intake, partition):
        engagement = engagement_of_tenant_not_yet_onboarded(intake, "kent")
        intake.processor.process([partition.record(submission("kent", engagement.id))])
        intake.keys.create_tenant("kent")
        intake.keys.add_source("kent", factories.CASE_SYSTEM_SOURCE)
        dead_letter = only_dead_letter(intake)
        intake.processor.replay(dead_letter.id, tenant="kent")

        with pytest.raises(Conflict):
            intake.processor.replay(dead_letter.id, tenant="kent")
        assert len(rows(intake, contributions)) == 1

    def test_replay_of_an_event_that_is_still_bad_says_why_and_counts_the_attempt(
        self, intake, council, engagement, partition
    ):
        intake.processor.process([partition.record(unknown_engagement(council.slug, engagement["id"]))])
        dead_letter = only_dead_letter(intake)

        with pytest.raises(InvalidInput) as caught:
            intake.processor.replay(dead_letter.id, tenant=council.slug)

        assert "engagement_id" in caught.value.errors["event"][0]
        after = only_dead_letter(intake)
        assert after.status == DEAD_LETTER_OPEN
        assert after.replay_count == 1
        assert rows(intake, contributions) == []

    def test_another_tenants_dead_letter_is_not_found(self, intake, council, other_council, engagement, partition):
        intake.processor.process([partition.record(unknown_engagement(council.slug, engagement["id"]))])
        dead_letter = only_dead_letter(intake)

        with pytest.raises(NotFound):
            intake.processor.replay(dead_letter.id, tenant=other_council.slug)
        assert only_dead_letter(intake).replay_count == 0

    def test_an_unknown_dead_letter_is_not_found(self, intake, council):
        with pytest.raises(NotFound):
            intake.processor.replay(str(uuid.uuid4()), tenant=council.slug)


class FakeKafkaConsumer:
    """Serves one batch per poll; records seeks and offset commits."""

    def __init__(self, batches):
        self.batches = list(batches)
        self.seeks, self.commits = [], []
        self.highwaters: dict[TopicPartition, int] = {}
        self.closed = False

    def poll(self, timeout_ms):
        return self.batches.pop(0) if self.batches else {}

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def highwater(self, tp):
        return self.highwaters.get(tp)

    def commit(self, offsets):
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def close(self, autocommit=False):
        self.closed = True


class FlakyDatabaseProcessor:
    """Fails like an unreachable database for the first `failures` batches."""

    def __init__(self, failures: int, stop: threading.Event):
        self.failures, self.stop, self.applied = failures, stop, []
        self.name = "flaky-test-consumer"

    def process(self, batch):
        if self.failures:
            self.failures -= 1
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is down"))
        self.applied.extend(batch)
        self.stop.set()


class TestConsumerLoop:
    def test_a_batch_the_database_refused_is_read_again_and_its_offsets_committed_only_after(self):
        tp = TopicPartition(SUBMISSIONS_TOPIC, 0)
        batch = {tp: [Message(SUBMISSIONS_TOPIC, 0, offset, None, b"{}") for offset in (7, 8)]}
        client = FakeKafkaConsumer([batch, batch])
        stop = threading.Event()
        processor = FlakyDatabaseProcessor(failures=1, stop=stop)

        ConsumerLoop(client, processor, poll_timeout_ms=1).run(stop)

        assert client.seeks == [(tp, 7)]  # rewound to the batch start after the failure
        assert client.commits == [{tp: 9}]  # committed once, after the batch was applied
        assert [m.offset for m in processor.applied] == [7, 8]
        assert client.closed

    def test_after_each_batch_the_lag_behind_the_end_of_the_partition_is_reported(self):
        tp = TopicPartition(SUBMISSIONS_TOPIC, 3)
        batch = {tp: [Message(SUBMISSIONS_TOPIC, 3, offset, None, b"{}") for offset in (40, 41)]}
        client = FakeKafkaConsumer([batch])
        client.highwaters[tp] = 100  # the next offset the broker will assign: 58 records behind offset 41
        stop = threading.Event()
        processor = FlakyDatabaseProcessor(failures=0, stop=stop)

        ConsumerLoop(client, processor, poll_timeout_ms=1).run(stop)

        labels = {"consumer": processor.name, "topic": SUBMISSIONS_TOPIC, "partition": "3"}
        assert REGISTRY.get_sample_value("consumer_lag_messages", labels) == 58


@dataclass
class Run:
    """A fake clock moved on 5 s by every poll, and the stop set after `polls` polls."""

    polls: int
    stop: threading.Event = field(default_factory=threading.Event)
    now: float = 0.0
    rejoined_at: list[float] = field(default_factory=list)

    def tick(self) -> None:
        self.now += 5.0
        self.polls -= 1
        if self.polls <= 0:
            self.stop.set()


class StrandedKafkaConsumer(FakeKafkaConsumer):
    """A group member the broker gave `assigned` partitions (none by default) when its first
    rebalance finished, its topic having `partitions` of them; with `joins=False` the rebalance
    never finishes (a join under way for as long as the test runs)."""

    def __init__(self, run: Run, *, assigned=(), partitions=3, joins=True):
        super().__init__([])
        self.run, self.assigned, self.partitions, self.joins = run, set(assigned), partitions, joins
        self.listener = None

    def subscribe(self, topics, listener):
        assert list(topics) == [SUBMISSIONS_TOPIC]
        self.listener = listener

    def poll(self, timeout_ms):
        if self.listener is not None:  # the first poll joins the group
            self.listener.on_partitions_revoked(set())
            if self.joins:
                self.listener.on_partitions_assigned(self.assigned)
            self.listener = None
        self.run.tick()
        return {}

    def assignment(self):
        return self.assigned

    def subscription(self):
        return {SUBMISSIONS_TOPIC}

    def partitions_for_topic(self, topic):
        return set(range(self.partitions)) or None


def run_stranded(first: StrandedKafkaConsumer, **rejoined_member) -> list[StrandedKafkaConsumer]:
    """Run the loop until its stop; the consumers it rejoined with, each `rejoined_member`."""
    run, made = first.run, []

    def rejoin():
        run.rejoined_at.append(run.now)
        made.append(StrandedKafkaConsumer(run, **rejoined_member))
        return made[-1]

    processor = FlakyDatabaseProcessor(failures=0, stop=run.stop)
    ConsumerLoop(first, processor, poll_timeout_ms=1, rejoin=rejoin, rejoin_after=30.0, monotonic=lambda: run.now).run(
        run.stop
    )
    return made


class TestRejoin:
    """A consumer the broker left without partitions (Tansu killed during the first group join)."""

    def test_a_consumer_with_no_partitions_for_the_rejoin_time_closes_and_rejoins(self):
        run = Run(polls=100)
        first = StrandedKafkaConsumer(run)

        [rejoined] = run_stranded(first, assigned={TopicPartition(SUBMISSIONS_TOPIC, 0)})

        assert first.closed and rejoined.closed  # the loop closes whichever consumer it ends with
        [at] = run.rejoined_at
        assert 30.0 <= at <= 40.0  # no sooner than the rejoin time, and not much later

    def test_a_consumer_with_partitions_never_rejoins(self):
        run = Run(polls=100)

        assert run_stranded(StrandedKafkaConsumer(run, assigned={TopicPartition(SUBMISSIONS_TOPIC, 0)})) == []

    def test_topics_without_partitions_are_no_reason_to_rejoin(self):
        run = Run(polls=100)

        assert run_stranded(StrandedKafkaConsumer(run, partitions=0)) == []

    def test_a_consumer_still_joining_its_group_is_left_to_finish_however_long_it_takes(self):
        run = Run(polls=100)

        assert run_stranded(StrandedKafkaConsumer(run, joins=False)) == []

    def test_a_spare_member_still_given_nothing_waits_twice_as_long_each_time(self):
        run = Run(polls=100)

        run_stranded(StrandedKafkaConsumer(run))

        first, second, third = run.rejoined_at[:3]
        assert second - first >= 60.0 and third - second >= 120.0


class TestHostileRecords:
    """Records that once could stall or crash the consumer for every council behind them."""

    def test_a_long_or_binary_kafka_key_is_dead_lettered_and_the_next_event_accepted(self, intake, council, engagement):
        hostile = Message(SUBMISSIONS_TOPIC, 0, 0, key=b"\x00" * 300, value=b"{not json")
        good = Message(
            SUBMISSIONS_TOPIC, 0, 1, key=None, value=events.dumps(submission(council.slug, engagement["id"]))
        )

        intake.processor.process([hostile, good])

        assert only_dead_letter(intake).reason.startswith("not JSON")
        assert len(rows(intake, contributions)) == 1
        [dead] = outbox_events(intake, dlq_topic(SUBMISSIONS_TOPIC))
        assert dead["subject"] == only_dead_letter(intake).id

    def test_control_characters_in_event_attributes_are_refused_with_a_reason(
        self, intake, council, engagement, partition
    ):
        event = submission(council.slug, engagement["id"])
        event["id"] = "case-\x01-4711"

        intake.processor.process([partition.record(event)])

        assert "control characters" in only_dead_letter(intake).reason
        assert rows(intake, contributions) == []

    def test_nul_or_lone_surrogates_in_data_are_refused_not_crashed_on(self, intake, council, engagement, partition):
        # JSON escapes them (\u0000, \ud800) and they decode into strings no database keeps.
        intake.processor.process(
            [
                partition.record(json.dumps(submission(council.slug, engagement["id"], text="a \x00 b")).encode()),
                partition.record(json.dumps(submission(council.slug, engagement["id"], text="a \ud800 b")).encode()),
            ]
        )

        assert [d.reason for d in rows(intake, dead_letters)] == [
            "not storable: a string holds NUL or an unpaired surrogate"
        ] * 2

    def test_a_new_record_at_an_offset_the_broker_reused_is_not_mistaken_for_an_old_one(
        self, intake, council, engagement
    ):
        intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, 5, None, b"{not json")])
        # The broker restarted with nothing on disk: offset 5 is a new record now.
        intake.processor.process(
            [Message(SUBMISSIONS_TOPIC, 0, 5, None, events.dumps(submission(council.slug, engagement["id"])))]
        )

        assert len(rows(intake, contributions)) == 1


def on_topic(topic: str, envelope: dict, offset: int) -> Message:
    return Message(topic=topic, partition=0, offset=offset, key=None, value=events.dumps(envelope))


@pytest.fixture
def received(intake, council, engagement, partition) -> str:
    """A contribution a case system submitted and intake received: its id."""
    intake.processor.process([partition.record(submission(council.slug, engagement["id"]))])
    [contribution] = rows(intake, contributions)
    assert contribution.status == CONTRIBUTION_RECEIVED_STATUS
    return contribution.id


FORGED_TYPES = factories.FORGEABLE_OUTCOME_TYPES


class TestEachTopicCarriesOnlyItsOwnEvents:
    """Issue 16: an internal event forged on the case systems' topic once decided a contribution."""

    @pytest.mark.parametrize("event_type", FORGED_TYPES)
    def test_an_internal_event_forged_on_the_submissions_topic_is_dead_lettered_and_changes_nothing(
        self, intake, council, received, partition, event_type
    ):
        forged = factories.outcome_event(event_type, council.slug, received)

        intake.processor.process([partition.record(forged)])

        [contribution] = rows(intake, contributions)
        assert contribution.status == CONTRIBUTION_RECEIVED_STATUS
        assert rows(intake, contribution_outcomes) == []
        dead_letter = only_dead_letter(intake)
        assert dead_letter.reason == f"event type {event_type!r} is not accepted on {SUBMISSIONS_TOPIC}"
        assert dead_letter.topic == SUBMISSIONS_TOPIC

    def test_the_same_event_on_its_own_topic_from_its_own_service_is_applied(self, intake, council, received):
        linked = factories.outcome_event(CONTRIBUTION_LINKED, council.slug, received)

        intake.processor.process([on_topic(DECISIONS_TOPIC, linked, 0)])

        [contribution] = rows(intake, contributions)
        assert contribution.status == "decided"
        assert rows(intake, dead_letters) == []

    def test_a_forged_event_replayed_is_still_refused(self, intake, council, received, partition):
        intake.processor.process([partition.record(factories.outcome_event(OUTCOME_RATED, council.slug, received))])

        with pytest.raises(InvalidInput) as refused:
            intake.processor.replay(only_dead_letter(intake).id, tenant=council.slug)

        assert "is not accepted on intake.submissions" in refused.value.errors["event"][0]
        assert rows(intake, contribution_outcomes) == []

    @pytest.mark.parametrize(
        "source",
        ["urn:outcome-chain:intake", "urn:outcome-chain:notifier", factories.CASE_SYSTEM_SOURCE],
    )
    def test_an_internal_event_from_another_service_or_a_case_system_is_refused(
        self, intake, council, received, source
    ):
        forged = factories.outcome_event(CONTRIBUTION_LINKED, council.slug, received, source=source)

        intake.processor.process([on_topic(DECISIONS_TOPIC, forged, 0)])

        [contribution] = rows(intake, contributions)
        assert contribution.status == CONTRIBUTION_RECEIVED_STATUS
        assert only_dead_letter(intake).reason == (
            f"{DECISIONS_TOPIC} accepts events only from {TOPIC_PUBLISHERS[DECISIONS_TOPIC]}"
        )

    def test_a_type_that_is_not_a_type_name_is_not_repeated_in_the_reason(self, intake, council, engagement, partition):
        participant = factories.participant_payload()
        event = {**submission(council.slug, engagement["id"]), "type": f"contribution.{participant['email']}"}

        intake.processor.process([partition.record(event)])

        reason = only_dead_letter(intake).reason
        assert reason == f"event type not accepted on {SUBMISSIONS_TOPIC}"
        assert participant["email"].encode() not in raw_outbox(intake, dlq_topic(SUBMISSIONS_TOPIC))

    def test_a_handler_for_a_type_no_consumed_topic_carries_is_a_wiring_mistake(self):
        with pytest.raises(ValueError, match="carries contribution.linked"):
            routes([SUBMISSIONS_TOPIC], {CONTRIBUTION_SUBMITTED: print, CONTRIBUTION_LINKED: print})

    def test_every_consumed_topic_declares_its_types_and_every_internal_one_its_publisher(self):
        assert set(TOPIC_EVENT_TYPES) == set(CONSUMED_TOPICS)
        assert set(TOPIC_PUBLISHERS) == set(CONSUMED_TOPICS) - {SUBMISSIONS_TOPIC}


class TestCaseSystemSources:
    def test_a_submission_from_a_source_the_tenant_did_not_register_is_dead_lettered(
        self, intake, council, engagement, partition
    ):
        event = {**submission(council.slug, engagement["id"]), "source": "https://case-system.example.gov.uk/children"}

        intake.processor.process([partition.record(event)])

        assert rows(intake, contributions) == []
        assert only_dead_letter(intake).reason == SOURCE_NOT_REGISTERED

    def test_another_councils_registration_does_not_count(self, intake, council, other_council, engagement, partition):
        intake.keys.add_source(other_council.slug, "https://case-system.example.gov.uk/dorset")
        event = {**submission(council.slug, engagement["id"]), "source": "https://case-system.example.gov.uk/dorset"}

        intake.processor.process([partition.record(event)])

        assert rows(intake, contributions) == []
        assert only_dead_letter(intake).reason == SOURCE_NOT_REGISTERED

    def test_replay_after_the_source_is_registered_accepts_the_submission(self, intake, council, engagement, partition):
        children = "https://case-system.example.gov.uk/children"
        intake.processor.process([partition.record({**submission(council.slug, engagement["id"]), "source": children})])

        intake.keys.add_source(council.slug, children)
        outcome = intake.processor.replay(only_dead_letter(intake).id, tenant=council.slug)

        assert outcome == "accepted"
        [contribution] = rows(intake, contributions)
        assert contribution.submitted_by.startswith(children + "#")

    def test_a_removed_source_is_refused_once_the_consumer_cache_expires(self, intake, council, engagement, partition):
        intake.keys.SOURCE_CACHE_SECONDS = 0.0
        intake.keys.remove_source(council.slug, uri=factories.CASE_SYSTEM_SOURCE)

        intake.processor.process([partition.record(submission(council.slug, engagement["id"]))])

        assert rows(intake, contributions) == []
        assert only_dead_letter(intake).reason == SOURCE_NOT_REGISTERED


SOMEONE = "Jane Doe <jane@example.org>"


@pytest.mark.parametrize(
    ("attribute", "value", "shown"),
    [
        ("type", SOMEONE, "(not shown: not a valid event type)"),
        ("type", "+44 7700 900731", "(not shown: not a valid event type)"),
        ("source", SOMEONE, "(not shown: not a valid source URI)"),
        ("source", "mailto:jane@example.org", "(not shown: not a valid source URI)"),
        ("id", SOMEONE, "(not shown: not a valid event id)"),
        ("id", "07700900731", "(not shown: not a valid event id)"),
        ("type", "contribution.withdrawn", "contribution.withdrawn"),
        ("source", "https://cases.wiltshire.example/intake", "https://cases.wiltshire.example/intake"),
        ("id", "case-4711:2", "case-4711:2"),
    ],
)
def test_a_dead_letter_keeps_and_shows_an_attribute_only_if_it_has_the_attributes_shape(
    intake, council, engagement, partition, caplog, attribute, value, shown
):
    event = {**submission(council.slug, str(uuid.uuid4())), attribute: value}  # refused: unknown engagement

    with caplog.at_level(logging.INFO):
        intake.processor.process([partition.record(event)])

    dead_letter = only_dead_letter(intake)
    assert getattr(dead_letter, f"event_{attribute}") == shown
    [listed], _ = dead_letter_list.list_for_tenant(intake.engine, council.slug, status=None, page=1, per_page=10)
    assert listed[f"event_{attribute}"] == shown
    if shown != value:
        written = [
            " ".join(str(v) for v in dead_letter),
            raw_outbox(intake, dlq_topic(SUBMISSIONS_TOPIC)).decode(),
            " ".join(str(vars(record)) for record in caplog.records),  # messages and their `extra`
        ]
        for where in written:
            assert value not in where
            assert "jane" not in where.lower() and "7700" not in where


def test_an_unknown_type_is_named_in_the_reason_only_if_shaped_like_a_type(intake, council, engagement, partition):
    intake.processor.process([partition.record({**submission(council.slug, engagement["id"]), "type": SOMEONE})])

    assert only_dead_letter(intake).reason == f"event type not accepted on {SUBMISSIONS_TOPIC}"


def test_a_submission_naming_a_known_external_ref_is_the_same_person(intake, council, engagement, partition):
    person = factories.participant_payload(external_ref="case-4711")
    events_ = [
        submission(council.slug, engagement["id"], participant=person),
        submission(council.slug, engagement["id"], participant={**person, "language": "cy"}),
    ]

    intake.processor.process([partition.record(event) for event in events_])

    assert len({row.participant_id for row in rows(intake, contributions)}) == 1
    with intake.engine.connect() as connection:
        stored = " ".join(str(v) for row in connection.exec_driver_sql("SELECT * FROM participants") for v in row)
    assert "case-4711" not in stored


def test_people_known_from_an_earlier_batch_are_refreshed_and_new_people_registered(
    intake, council, engagement, partition
):
    known = factories.participant_payload(external_ref="case-1")
    intake.processor.process([partition.record(submission(council.slug, engagement["id"], participant=known))])

    intake.processor.process(
        [
            partition.record(submission(council.slug, engagement["id"], participant={**known, "language": "cy"})),
            partition.record(
                submission(
                    council.slug, engagement["id"], participant=factories.participant_payload(external_ref="case-2")
                )
            ),
            partition.record(submission(council.slug, engagement["id"], participant={**known, "language": "cy"})),
        ]
    )

    assert len(rows(intake, participants)) == 2
    assert len(rows(intake, contributions)) == 4
    announced = [event["type"] for event in outbox_events(intake, PARTICIPANTS_TOPIC)]
    assert announced == [PARTICIPANT_REGISTERED, PARTICIPANT_UPDATED, PARTICIPANT_REGISTERED]


def test_a_row_that_breaks_a_constraint_when_written_with_its_batch_is_set_aside_alone(
    intake, council, engagement, partition
):
    """Rows are written together at the end of the fast path: one that fails there still
    fails alone (the batch is applied again, an event at a time)."""

    def count_the_year(uow, event):  # a handler inserting a row keyed by the event's data
        uow.insert(reference_counters, {"tenant": event["tenant"], "year": event["data"]["year"], "last": 1})

    processor = EventProcessor(
        name="years",
        source=intake.source,
        uow_factory=intake.uow,
        topics=[SUBMISSIONS_TOPIC],
        handlers={CONTRIBUTION_SUBMITTED: count_the_year},
        sealer=intake.sealer,
        tenant_exists=intake.keys.tenant_exists,
        source_registered=intake.keys.source_registered,
    )

    processor.process(
        [partition.record(factories.submission_event(council.slug, {"year": y})) for y in (2001, 2001, 2002)]
    )

    assert sorted(row.year for row in rows(intake, reference_counters)) == [2001, 2002]
    dead_letter = only_dead_letter(intake)
    assert (dead_letter.offset, dead_letter.reason) == (1, "internal error while handling: IntegrityError")


def test_references_run_on_without_gaps_past_duplicates_and_refused_events(intake, council, engagement, partition):
    twice = submission(council.slug, engagement["id"])
    unregistered = {**submission(council.slug, engagement["id"]), "source": "https://case-system.example.gov.uk/x"}
    intake.processor.process(
        [partition.record(e) for e in (twice, unregistered, twice, submission(council.slug, engagement["id"]))]
    )
    intake.processor.process([partition.record(submission(council.slug, engagement["id"]))])

    numbers = sorted(int(row.reference.rsplit("-", 1)[1]) for row in rows(intake, contributions))
    assert numbers == [1, 2, 3]
